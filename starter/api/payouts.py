"""The Python API for backend services: start, inspect, cancel and reschedule payout sagas.

    payouts = await Payouts.connect()
    key = await payouts.start(PayoutRequest(deposit_address=..., amount=Decimal("25"), ...))
    result = await payouts.result(key)

Every request is checked before anything starts; starting the same idempotency key again
returns the same saga (and refuses a different payout under a key that is already used).
`status`, `cancel`, `reschedule` and `result` take the key of any saga, single or mass, and
work out which it is; `payouts.mass` has what only mass payouts have.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.service import RPCError

from starter.api.errors import PayoutEndedError, ended_state
from starter.api.idempotent_start import start_idempotently
from starter.api.mass import MassPayouts
from starter.api.outcomes import saga_result
from starter.api.requests import checked, saga_input
from starter.api.saga_kinds import MASS, find_saga
from starter.service.settings import Settings
from starter.service.temporal_client import connect
from workflows import search_attributes as sa
from workflows.keys import single_payout_workflow_id
from workflows.mass_models import MassCancelResult, MassPayoutResult, MassProgress
from workflows.payout_models import (
    CancelInput,
    CancelResult,
    PayoutInput,
    PayoutRequest,
    PayoutResult,
    PayoutStatus,
    RescheduleInput,
    RescheduleResult,
    SagaState,
)
from workflows.single_payout import SinglePayoutWorkflow

__all__ = ["PayoutRequest", "PayoutSummary", "Payouts"]  # PayoutRequest: also from starter.api


class PayoutSummary(BaseModel):
    key: str
    state: str | None
    currency: str | None
    external_id: str | None
    provider_id: str | None
    started_at: datetime | None


class Payouts:
    """Payout sagas on one Temporal namespace and task queue."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self.mass = MassPayouts(client, settings)

    @classmethod
    async def connect(cls, settings: Settings | None = None) -> Payouts:
        settings = settings or Settings.from_env()
        return cls(await connect(settings), settings)

    async def start(self, request: PayoutRequest) -> uuid.UUID:
        """Check the request (`InvalidPayoutError` lists every problem; nothing starts), then
        start its saga; idempotent by key. Returns the key."""
        payout = saga_input(PayoutInput, checked(request), self._settings)
        key, address = payout.idempotency_key, payout.deposit_address
        await start_idempotently(
            self._client,
            "SinglePayout",
            payout,
            workflow_id=single_payout_workflow_id(key),
            task_queue=self._settings.task_queue,
            summary=f"Pay {payout.amount} {payout.currency} to {address[:6]}…{address[-4:]}",
        )
        return key

    async def status(self, key: uuid.UUID) -> PayoutStatus | MassProgress:
        """The `status` query of a payout, or the `progress` query of a mass payout."""
        kind, handle = await find_saga(self._client, key)
        if kind is MASS:
            return await self.mass.progress(key)
        return await handle.query(SinglePayoutWorkflow.status)

    async def cancel(
        self, key: uuid.UUID, reason: str = "canceled by the merchant"
    ) -> CancelResult | MassCancelResult:
        """The `cancel` update; a saga that has already ended answers `accepted=False`."""
        kind, handle = await find_saga(self._client, key)
        try:
            result: CancelResult | MassCancelResult = await handle.execute_update(
                kind.workflow.cancel, CancelInput(reason=reason)
            )
        except RPCError as exc:
            ended = await ended_state(handle, exc, kind.result_type)
            return kind.cancel_result(accepted=False, state=ended, message=f"already {ended}")
        return result

    async def reschedule(self, key: uuid.UUID, execution_date: datetime) -> RescheduleResult:
        """The `reschedule` update; refused once the payout has been sent."""
        kind, handle = await find_saga(self._client, key)
        try:
            moved: RescheduleResult = await handle.execute_update(
                kind.workflow.reschedule, RescheduleInput(execution_date=execution_date)
            )
        except RPCError as exc:
            ended = await ended_state(handle, exc, kind.result_type)
            raise PayoutEndedError(f"{kind.noun} {key} has already ended {ended}") from exc
        return moved

    async def result(self, key: uuid.UUID) -> PayoutResult | MassPayoutResult:
        """Wait for the saga to end and return its outcome."""
        kind, handle = await find_saga(self._client, key)
        result: PayoutResult | MassPayoutResult = await saga_result(handle, kind.result_type)
        return result

    async def list(self, *, state: str | None = None, limit: int = 50) -> list[PayoutSummary]:
        """Recent single payout sagas, newest first, through the search attributes."""
        query = "WorkflowType = 'SinglePayout'"
        if state:
            query += f" AND PayoutState = '{saga_state(state)}'"
        summaries = []
        async for execution in self._client.list_workflows(query, limit=limit):
            attributes = execution.typed_search_attributes
            summaries.append(
                PayoutSummary(
                    key=execution.id.removeprefix("payout-"),
                    state=attributes.get(sa.PAYOUT_STATE),
                    currency=attributes.get(sa.PAYOUT_CURRENCY),
                    external_id=attributes.get(sa.PAYOUT_EXTERNAL_ID),
                    provider_id=attributes.get(sa.CALYPSO_PAYOUT_ID),
                    started_at=execution.start_time,
                )
            )
        return summaries


def saga_state(name: str) -> SagaState:
    """The saga state `name` names, in any letter case; ValueError listing the states if none."""
    if name.upper() not in SagaState.__members__:
        raise ValueError(f"state: expected one of {', '.join(SagaState)}, got {name!r}")
    return SagaState[name.upper()]
