"""What operators, the Temporal UI and the merchant see of a single payout: the `status` query,
the UI's current details, the merchant's callbacks and the saga's result. Read-only.
Deterministic: runs in workflows.
"""

from __future__ import annotations

from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.callbacks import CallbackEvent
    from workflows.execution_schedule import ExecutionSchedule
    from workflows.merchant_notices import undelivered_callbacks
    from workflows.payout_controls import PayoutControls
    from workflows.payout_models import PayoutInput, PayoutResult, PayoutStatus, SagaState
    from workflows.provider_attempts import ProviderAttempts
    from workflows.saga_record import SagaRecord


class PayoutView:
    def __init__(
        self,
        request: PayoutInput,
        record: SagaRecord,
        schedule: ExecutionSchedule,
        attempts: ProviderAttempts,
        controls: PayoutControls,
    ) -> None:
        self.quoted_fee: Decimal | None = None  # the latest fee quote, before the provider's
        self._request = request
        self._record = record
        self._schedule = schedule
        self._attempts = attempts
        self._controls = controls

    @property
    def fee(self) -> Decimal | None:
        """The provider's fee once it has stated one, else the latest quote."""
        current = self._attempts.current
        return current.fee if current and current.fee is not None else self.quoted_fee

    @property
    def tx_hash(self) -> str | None:
        return next((a.tx_hash for a in reversed(self._attempts.attempts) if a.tx_hash), None)

    def status(self) -> PayoutStatus:
        request, current = self._request, self._attempts.current
        return PayoutStatus(
            key=request.idempotency_key,
            state=self._record.state,
            provider_state=current.provider_state if current else None,
            provider_id=current.provider_id if current else None,
            amount=request.amount,
            currency=request.currency,
            deposit_address=request.deposit_address,
            fee=self.fee,
            tx_hash=self.tx_hash,
            reason=self._record.reason,
            detail=self._record.detail,
            errors=current.errors if current else [],
            attempts=self._attempts.attempts,
            execution_date=self._schedule.execution_date,
            next_poll_at=self._attempts.next_poll_at,
            timeline=self._record.timeline.entries,
            undelivered_callbacks=undelivered_callbacks(self._record.timeline.entries),
            policy_version=self._controls.policy_version,
            requested_by=request.requested_by,
            approval=self._controls.approval_status,
        )

    def result(self) -> PayoutResult:
        current = self._attempts.current
        return PayoutResult(
            key=self._request.idempotency_key,
            state=self._record.state,
            reason=self._record.reason,
            provider_id=current.provider_id if current else None,
            fee=self.fee,
            tx_hash=self.tx_hash,
            attempts=len(self._attempts.attempts),
        )

    def details(self) -> str:
        """The UI's current details: "Pay 25.5 USDT_TRX to TJRyWw…tDeC, SUBMITTED (provider …)"."""
        request, current = self._request, self._attempts.current
        address = request.deposit_address
        provider_state = current.provider_state if current else None
        provider = f" (provider {provider_state})" if provider_state else ""
        return (
            f"Pay {request.amount} {request.currency} to {address[:6]}…{address[-4:]}, "
            f"{self._record.state}{provider}"
        )

    def callback(self, state: SagaState, note: str | None, event_id: str) -> CallbackEvent:
        current = self._attempts.current
        return CallbackEvent(
            event_id=event_id,
            payout_key=str(self._request.idempotency_key),
            kind="single",
            state=state,
            provider_state=current.provider_state if current else None,
            amount=self._request.amount,
            currency=self._request.currency,
            fee=self.fee,
            tx_hash=self.tx_hash,
            reason=note,
            occurred_at=workflow.now(),
        )
