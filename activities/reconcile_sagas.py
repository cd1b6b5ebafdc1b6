"""The sagas' side of a reconciliation, read from Temporal's visibility and histories.

The window's sagas are the single payouts and mass deals of the task queue that started or ended
since `since`, or still run. A provider payout whose saga is not among them (an older saga, another
task queue) is looked up by workflow id, a hundred ids per query. A saga's input comes from the
first event of its history; a deal's outcomes from its result. Reads only: nothing is signaled.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from activities.reconcile_findings import beat
from workflows.keys import (
    candidate_saga_keys,
    mass_deal_workflow_id,
    saga_workflow_ids,
    single_payout_workflow_id,
)
from workflows.mass_models import DealResult
from workflows.search_attributes import CALYPSO_PAYOUT_ID, PAYOUT_STATE

SINGLE, DEAL = "SinglePayout", "MassPayoutDeal"
IDS_PER_QUERY = 100
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class SagaView:
    workflow_id: str
    workflow_type: str
    run_id: str
    status: WorkflowExecutionStatus | None
    state: str | None  # PayoutState (a deal publishes none)
    provider_id: str | None  # CalypsoPayoutId: the provider payout of its latest attempt
    started: datetime

    @property
    def running(self) -> bool:
        return self.status == WorkflowExecutionStatus.RUNNING

    @property
    def key(self) -> str:
        """The saga's own key (a deal's: its deal key), from its workflow id."""
        return self.workflow_id.removeprefix("mass-deal-").removeprefix("payout-")

    @property
    def completed(self) -> bool:
        """A single payout that paid: its state says so and its workflow has completed."""
        return self.state == "COMPLETED" and self.status == WorkflowExecutionStatus.COMPLETED

    def describe(self) -> str:
        """Its state as operators read it: PayoutState, and the workflow's status when that is
        not how a saga ends by itself (terminated, timed out, still running)."""
        status = self.status.name if self.status else "UNKNOWN"
        if self.state is None:
            return status
        ends_itself = {WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED}
        return self.state if self.status in ends_itself else f"{self.state} (workflow {status})"


class Sagas:
    def __init__(self, client: Client, task_queue: str) -> None:
        self._client = client
        self._task_queue = task_queue
        self._known: dict[str, SagaView] = {}
        self._looked_up: set[str] = set()
        self._inputs: dict[str, Any] = {}
        self.in_window: list[SagaView] = []

    async def load_window(self, since: datetime) -> None:
        at = since.isoformat()
        query = (
            f"TaskQueue = {_quoted(self._task_queue)} AND WorkflowType IN ('{SINGLE}', '{DEAL}')"
            f" AND (StartTime >= '{at}' OR CloseTime >= '{at}' OR ExecutionStatus = 'Running')"
        )
        await self._list(query)
        self.in_window = list(self._known.values())

    async def look_up(self, workflow_ids: Iterable[str]) -> None:
        """Learn the sagas under these ids that the window did not bring (any task queue)."""
        missing = [
            workflow_id
            for workflow_id in dict.fromkeys(workflow_ids)
            if workflow_id not in self._known and workflow_id not in self._looked_up
        ]
        for start in range(0, len(missing), IDS_PER_QUERY):
            chunk = missing[start : start + IDS_PER_QUERY]
            await self._list(f"WorkflowId IN ({', '.join(map(_quoted, chunk))})")
            self._looked_up.update(chunk)
            beat(f"sagas looked up: {start + len(chunk)}")

    def get(self, workflow_id: str) -> SagaView | None:
        return self._known.get(workflow_id)

    def owner(self, provider_key: str | None) -> tuple[SagaView, int] | None:
        """The saga that sent `provider_key`, and as which attempt (after `look_up`)."""
        key = _uuid(provider_key)
        if key is None:
            return None
        for attempt, saga_key in enumerate(candidate_saga_keys(key)):
            for workflow_id in (
                single_payout_workflow_id(saga_key),
                mass_deal_workflow_id(saga_key),
            ):
                if (saga := self._known.get(workflow_id)) is not None:
                    return saga, attempt
        return None

    @staticmethod
    def candidates(provider_key: str | None) -> list[str]:
        key = _uuid(provider_key)
        return [] if key is None else saga_workflow_ids(key)

    async def start_input(self, saga: SagaView, model: type[ModelT]) -> ModelT | None:
        """The saga's input, from the first event of its history (None if unreadable)."""
        if saga.workflow_id not in self._inputs:
            self._inputs[saga.workflow_id] = await self._read_input(saga, model)
        found = self._inputs[saga.workflow_id]
        return found if isinstance(found, model) else None

    async def deal_result(self, saga: SagaView) -> DealResult | None:
        """A closed deal's outcomes; None when it did not complete (terminated, timed out)."""
        if saga.status != WorkflowExecutionStatus.COMPLETED:
            return None
        handle = self._client.get_workflow_handle(
            saga.workflow_id, run_id=saga.run_id, result_type=DealResult
        )
        try:
            result: DealResult = await handle.result(follow_runs=False)
        except (RPCError, ValueError, TypeError):  # unreadable: report without its outcomes
            return None
        return result

    async def _read_input(self, saga: SagaView, model: type[ModelT]) -> ModelT | None:
        handle = self._client.get_workflow_handle(saga.workflow_id, run_id=saga.run_id)
        try:
            async for event in handle.fetch_history_events(page_size=1):
                payloads = event.workflow_execution_started_event_attributes.input.payloads
                values = await self._client.data_converter.decode(payloads, [model])
                return values[0] if values and isinstance(values[0], model) else None
        except (RPCError, ValueError, TypeError):
            return None
        return None

    async def _list(self, query: str) -> None:
        async for execution in self._client.list_workflows(query):
            self._add(execution)
            if len(self._known) % 1000 == 0:
                beat(f"sagas listed: {len(self._known)}")

    def _add(self, execution: WorkflowExecution) -> None:
        attributes = execution.typed_search_attributes
        seen = SagaView(
            workflow_id=execution.id,
            workflow_type=execution.workflow_type,
            run_id=execution.run_id,
            status=execution.status,
            state=attributes.get(PAYOUT_STATE),
            provider_id=attributes.get(CALYPSO_PAYOUT_ID),
            started=execution.start_time,
        )
        known = self._known.get(execution.id)
        # Several runs under one id (continue-as-new): the running one, else the latest.
        if known is None or (not known.running and (seen.running or seen.started > known.started)):
            self._known[execution.id] = seen


def _quoted(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None
