"""A saga's business metrics (docs/observability.md), recorded by its `SagaRecord`.

Through `workflow.metric_meter()`: replay-safe (nothing is recorded while a history replays, so
a saga's start is counted once however often a worker rebuilds it) and no command, so no change
to any history. On a worker without PAYOUTS_METRICS_PORT the meter records nothing. Money is a
float here, for metrics only. Deterministic: runs in workflows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from temporalio import workflow
from temporalio.common import MetricMeter

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.payout_models import SagaState

MEMO_AMOUNT = "amount"  # what `starter.api.idempotent_start.listing_memo` keeps: an exact string
MEMO_TOTAL = "total"
UNKNOWN = "unknown"


class SagaMetrics:
    """Counts one saga's start, state changes and end; `enabled=False` (a mass deal, whose
    parent speaks for the list) records nothing."""

    def __init__(self, enabled: bool) -> None:
        self._enabled = enabled
        self._kind: str | None = None
        self._currency: str | None = None

    def started(self, kind: str, currency: str) -> None:
        self._kind, self._currency = kind, currency
        self._safely(lambda: self._count("payouts_started", "Payout sagas started"))

    def state_changed(self, state: SagaState) -> None:
        description = "Saga state changes, by the state entered"
        self._safely(lambda: self._count("payouts_state_changes", description, state))

    def finished(self, state: SagaState) -> None:
        """The final state: counted, timed, and a FAILED saga's amount."""
        if self._enabled:
            self._safely(lambda: self._finished(state))

    def _safely(self, record: Callable[[], None]) -> None:
        """A metric that cannot be recorded is lost, never the saga's workflow task."""
        try:
            record()
        except Exception as error:
            workflow.logger.warning("saga metrics not recorded: %r", error)

    def _finished(self, state: SagaState) -> None:
        self._count("payouts_ended", "Payout sagas that reached a final state", state)
        meter = self._meter(state)
        info = workflow.info()
        now = workflow.now()
        meter.create_histogram_float(
            "payouts_saga_duration_seconds", "From the saga's start to its final state", "s"
        ).record(max((now - info.workflow_start_time).total_seconds(), 0.0))
        if state == SagaState.COMPLETED:
            due = info.typed_search_attributes.get(sa.PAYOUT_EXECUTION_DATE)
            since = due if isinstance(due, datetime) else info.workflow_start_time
            meter.create_histogram_float(
                "payouts_paid_after_execution_date_seconds",
                "From the execution date (or the start, when none) to paid",
                "s",
            ).record(max((now - since).total_seconds(), 0.0))
        if state == SagaState.FAILED:
            amount = _memo_amount()
            if amount is not None:
                meter.create_histogram_float(
                    "payouts_failed_amount", "Amounts of payout sagas that ended FAILED"
                ).record(amount)

    def _count(self, name: str, description: str, state: SagaState | None = None) -> None:
        if self._enabled:
            self._meter(state).create_counter(name, description).add(1)

    def _meter(self, state: SagaState | None) -> MetricMeter:
        labels = {"kind": self._label_kind(), "currency": self._label_currency()}
        if state is not None:
            labels["state"] = state.value
        return workflow.metric_meter().with_additional_attributes(labels)

    def _label_kind(self) -> str:
        # A mass payout that continued as new does not start again: its search attributes,
        # carried over, still say what it is.
        if self._kind is None:
            self._kind = workflow.info().typed_search_attributes.get(sa.PAYOUT_KIND)
        return self._kind or UNKNOWN

    def _label_currency(self) -> str:
        if self._currency is None:
            self._currency = workflow.info().typed_search_attributes.get(sa.PAYOUT_CURRENCY)
        return self._currency or UNKNOWN


def _memo_amount() -> float | None:
    """The saga's amount (a mass payout's total) from the memo its start wrote; None without."""
    for key in (MEMO_AMOUNT, MEMO_TOTAL):
        value = workflow.memo_value(key, None, type_hint=str)
        if value is not None:
            try:
                return float(value)
            except ValueError:
                return None
    return None
