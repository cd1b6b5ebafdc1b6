"""Four eyes: a saga that the policy (or its screening) says needs approval waits here, after
reserving and before its execution date and the provider, until enough different people approve,
one denies, a cancel comes, or the approval expires.

approved → the saga goes on; denied → REJECTED; expired → CANCELED (`approval_expired`); the
caller releases the reservation on either end. The requester may not approve their own payout.
Deterministic: runs in workflows.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.admission_models import ApprovalNeed
    from workflows.approval_models import (
        ApprovalDecision,
        ApprovalResult,
        ApprovalStatus,
        ApproveInput,
        DenyInput,
    )
    from workflows.execution_schedule import ExecutionSchedule
    from workflows.payout_models import SagaState
    from workflows.saga_record import SagaEnded, SagaRecord


def _same_person(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().casefold() == b.strip().casefold()


class ApprovalGate:
    def __init__(
        self, record: SagaRecord, schedule: ExecutionSchedule, requested_by: str | None
    ) -> None:
        self._record = record
        self._schedule = schedule  # its cancel request ends the wait
        self._requested_by = requested_by
        self._status: ApprovalStatus | None = None

    @property
    def status(self) -> ApprovalStatus | None:
        return self._status

    async def wait(self, need: ApprovalNeed) -> None:
        """Wait for the decision; SagaEnded unless approved."""
        expires_at = workflow.now() + timedelta(seconds=need.expires_after_seconds)
        self._status = ApprovalStatus(
            approvers=need.approvers,
            reasons=need.reasons,
            expires_at=expires_at,
            requested_by=self._requested_by,
        )
        who = "two different approvers" if need.approvers == 2 else "one approver"
        self._record.set_state(
            SagaState.WAITING_FOR_APPROVAL,
            f"{'; '.join(need.reasons)}; needs {who} before {expires_at.isoformat()}",
        )
        try:
            await workflow.wait_condition(
                lambda: self._decided() or self._schedule.cancel_reason is not None,
                timeout=timedelta(seconds=need.expires_after_seconds),
            )
        except TimeoutError:
            raise SagaEnded(
                SagaState.CANCELED,
                f"approval_expired: no decision before {expires_at.isoformat()}; "
                "the reservation is released",
            ) from None
        self._schedule.raise_if_canceled()
        denial = self._denial()
        if denial is not None:
            raise SagaEnded(SagaState.REJECTED, f"denied by {denial.by}: {denial.note}")

    def approve(self, decision: ApproveInput) -> ApprovalResult:
        """The body of every saga's `approve` update (after `check_approve`)."""
        status = self._status
        assert status is not None
        status.decisions.append(
            ApprovalDecision(
                decision="approved", by=decision.by, at=workflow.now(), note=decision.comment
            )
        )
        self._record.timeline.add(
            "operator", "approved", None, _note(decision.by, decision.comment)
        )
        missing = status.approvers - len(self._approvals())
        message = "approved" if missing <= 0 else f"approved; waiting for {missing} more approver"
        return ApprovalResult(accepted=True, state=self._record.state, message=message)

    def check_approve(self, decision: ApproveInput) -> None:
        """The `approve` update's validator: a refused decision never reaches history."""
        self._check_waiting()
        if _same_person(decision.by, self._requested_by):
            raise ValueError(
                f"by: {self._requested_by} requested this payout and may not approve it"
            )
        if any(_same_person(decision.by, earlier.by) for earlier in self._approvals()):
            raise ValueError(
                f"by: {decision.by.strip()} has approved already; "
                "a second approver must be someone else"
            )

    def deny(self, decision: DenyInput) -> ApprovalResult:
        status = self._status
        assert status is not None
        status.decisions.append(
            ApprovalDecision(
                decision="denied", by=decision.by, at=workflow.now(), note=decision.reason
            )
        )
        self._record.timeline.add("operator", "denied", None, _note(decision.by, decision.reason))
        return ApprovalResult(
            accepted=True, state=self._record.state, message="denied; the reservation is released"
        )

    def check_deny(self, _decision: DenyInput) -> None:
        self._check_waiting()

    def _check_waiting(self) -> None:
        if self._record.state != SagaState.WAITING_FOR_APPROVAL or self._decided():
            raise ValueError(f"this payout is not waiting for approval; it is {self._record.state}")

    def _approvals(self) -> list[ApprovalDecision]:
        status = self._status
        return [d for d in status.decisions if d.decision == "approved"] if status else []

    def _denial(self) -> ApprovalDecision | None:
        status = self._status
        denials = [d for d in status.decisions if d.decision == "denied"] if status else []
        return denials[0] if denials else None

    def _decided(self) -> bool:
        status = self._status
        if status is None:
            return False
        return self._denial() is not None or len(self._approvals()) >= status.approvers


def _note(by: str, text: str | None) -> str:
    return f"{by}: {text}" if text else by
