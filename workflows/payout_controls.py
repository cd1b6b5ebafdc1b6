"""The operator's controls as durable steps of every saga (single and mass alike): admission
(the policy's recipient rules and limits, with the reservation, `activities/admission.py`), the
screening hook, and four-eyes approval (`approval.py`). They run after validation and before the
execution date; a saga whose history predates them skips them (`workflow.patched`).
Deterministic: runs in workflows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.admission import AdmissionActivities
    from activities.admission_models import Admission, AdmitInput, AdmitItem, ApprovalNeed
    from activities.ledger.shortfall import shortfall_of
    from activities.policy.model import ScreeningRules
    from activities.screening import ScreeningActivities
    from activities.screening_models import ScreenedRecipient, ScreeningRequest, ScreeningResult
    from workflows.activity_options import CALL, step
    from workflows.approval import ApprovalGate
    from workflows.approval_models import ApprovalStatus
    from workflows.execution_schedule import ExecutionSchedule
    from workflows.payout_models import SagaState
    from workflows.saga_record import SagaEnded, SagaRecord

CONTROLS_PATCH = "operator-controls"
ADMIT_BATCH_ITEMS = 2000
# The hook may take its time over a long list; heartbeats between its chunks show it is alive.
SCREENING_CALL: dict[str, Any] = {
    **CALL,
    "start_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": timedelta(minutes=2),
}


# Told of items refused (index → why); `reserved` says whether they hold a reservation to release.
OnRefused = Callable[[dict[int, str], bool], Awaitable[None]]


class PayoutControls:
    """Owned by a saga: `run` admits its items, screens them and waits for approval."""

    def __init__(
        self,
        kind: Literal["single", "mass"],
        key: str,
        record: SagaRecord,
        schedule: ExecutionSchedule,
        requested_by: str | None,
    ) -> None:
        self._kind = kind
        self._key = key
        self._record = record
        self.approval = ApprovalGate(record, schedule, requested_by)
        self.policy_version: str | None = None
        self._need: ApprovalNeed | None = None
        self._expiry = 0.0  # how long an approval may wait, as the policy says
        self.local_admission = False  # admit as a local activity (`activity_options.step`)

    @property
    def approval_status(self) -> ApprovalStatus | None:
        return self.approval.status

    async def run(
        self,
        *,
        sub_account: str,
        currency: str,
        total: Decimal,
        count: int,
        execution_date: datetime | None,
        batches: Iterator[list[AdmitItem]],
        on_reserved: Callable[[int], None],
        on_refused: OnRefused,
        refusal: Callable[[ActivityError], str],
    ) -> None:
        """Admit, screen, approve. SagaEnded when the payout (every item of it) is refused, the
        approval is denied or expires, or a cancel comes; otherwise the items not refused are
        reserved and may be paid."""
        refused: dict[int, str] = {}
        screening: ScreeningRules | None = None
        admitted: list[AdmitItem] = []
        for batch in batches:
            admission = await self._admit(
                refusal,
                AdmitInput(
                    kind=self._kind,
                    payout_key=self._key,
                    sub_account=sub_account,
                    currency=currency,
                    total=total,
                    item_count=count,
                    execution_date=execution_date,
                    items=batch,
                ),
            )
            if admission.rejected is not None:
                raise SagaEnded(
                    SagaState.REJECTED, f"policy {self.policy_version}: {admission.rejected}"
                )
            on_reserved(batch[-1].index + 1)
            refused.update(admission.denied)
            admitted += [item for item in batch if item.index not in admission.denied]
            self._ask(admission.approval)
            screening = admission.screening
            self._expiry = admission.approval_expires_after_seconds
        self._record.timeline.add(
            "saga",
            "reserved",
            None,
            f"{count - len(refused)} of {count} items"
            if self._kind != "single"
            else f"{total} {currency}",
        )
        await self._refuse(refused, reserved=False, count=count, on_refused=on_refused)
        if screening is not None:
            screened_out = await self._screen(screening, sub_account, currency, admitted)
            await self._refuse(
                screened_out, reserved=True, count=count - len(refused), on_refused=on_refused
            )
            if screened_out and screening.list_with_denied == "approval":
                self._ask(self._approval_for(f"{len(screened_out)} items denied by screening"))
        if self._need is not None:
            await self.approval.wait(self._need)
            self._record.timeline.add("saga", "approved", None, None)

    async def _admit(
        self, refusal: Callable[[ActivityError], str], request: AdmitInput
    ) -> Admission:
        """One batch admitted; a ledger refusal (short of funds) ends the saga REJECTED with
        what the caller's ledger step makes of it (what to fund, and how)."""
        try:
            admission: Admission = await step(
                AdmissionActivities.admit_payout, request, local=self.local_admission
            )
        except ActivityError as error:
            if shortfall_of(error) is None:
                raise
            raise SagaEnded(SagaState.REJECTED, refusal(error)) from error
        if admission.policy_version != self.policy_version:
            self.policy_version = admission.policy_version
            self._record.timeline.add("saga", "policy", None, f"version {admission.policy_version}")
        return admission

    async def _screen(
        self, rules: ScreeningRules, sub_account: str, currency: str, items: list[AdmitItem]
    ) -> dict[int, str]:
        """The hook's decisions: denied items (index → why); a review asks approval."""
        denied: dict[int, str] = {}
        reviews: list[str] = []
        for start in range(0, len(items), ADMIT_BATCH_ITEMS):
            result: ScreeningResult = await workflow.execute_activity_method(
                ScreeningActivities.screen_recipients,
                ScreeningRequest(
                    payout_key=self._key,
                    kind=self._kind,
                    currency=currency,
                    sub_account=sub_account,
                    url=rules.url,
                    secret_env=rules.secret_env,
                    timeout_seconds=rules.timeout_seconds,
                    chunk_size=rules.chunk_size,
                    recipients=[
                        ScreenedRecipient(index=i.index, address=i.address, amount=i.amount)
                        for i in items[start : start + ADMIT_BATCH_ITEMS]
                    ],
                ),
                **SCREENING_CALL,
            )
            for decision in result.decisions:
                why = decision.reason or "no reason given"
                if decision.decision == "deny":
                    denied[decision.index] = f"screening denied: {why}"
                elif decision.decision == "review":
                    item = "" if self._kind == "single" else f"item {decision.index}: "
                    reviews.append(f"{item}screening asks review: {why}")
        self._record.timeline.add(
            "saga",
            "screened",
            None,
            f"{len(items)} screened, {len(denied)} denied, {len(reviews)} to review",
        )
        if reviews:
            shown = reviews if len(reviews) <= 3 else [*reviews[:3], f"and {len(reviews) - 3} more"]
            self._ask(self._approval_for("; ".join(shown)))
        return denied

    async def _refuse(
        self, refused: dict[int, str], *, reserved: bool, count: int, on_refused: OnRefused
    ) -> None:
        if not refused:
            return
        await on_refused(refused, reserved)
        if self._kind == "single" or len(refused) >= count:  # nothing left to pay
            first = next(iter(refused.values()))
            every = (
                "" if self._kind == "single" else f"every item was refused ({len(refused)}), e.g. "
            )
            raise SagaEnded(SagaState.REJECTED, f"{every}{first}")

    def _ask(self, need: ApprovalNeed | None) -> None:
        if need is not None:
            self._need = need.merged(self._need)

    def _approval_for(self, reason: str) -> ApprovalNeed:
        return ApprovalNeed(approvers=1, reasons=[reason], expires_after_seconds=self._expiry)
