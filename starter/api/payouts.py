"""The Python API for backend services: start, inspect, cancel and reschedule payout sagas.

    payouts = await Payouts.connect()
    key = await payouts.start(PayoutRequest(deposit_address=..., amount=Decimal("25"), ...))
    result = await payouts.result(key)

Every request is validated before anything starts; starting the same idempotency key again
returns the same saga (and refuses a different payout under a key that is already used).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from calypso.currencies import FieldProblem, check_execution_date, check_payment
from starter.api.errors import PayoutEndedError as PayoutEndedError
from starter.api.errors import PayoutNotFoundError as PayoutNotFoundError
from starter.api.errors import ended_state
from starter.api.idempotent_start import KeyReusedError as KeyReusedError  # part of this API
from starter.api.idempotent_start import fingerprint, start_idempotently
from starter.api.mass import MassPayouts
from starter.service.settings import Settings
from starter.service.temporal_client import connect
from workflows import search_attributes as sa
from workflows.keys import mass_payout_workflow_id, single_payout_workflow_id
from workflows.payout_models import (
    CancelInput,
    CancelResult,
    PayoutInput,
    PayoutResult,
    PayoutStatus,
    RescheduleInput,
    RescheduleResult,
    ResendPolicy,
    SagaState,
)
from workflows.single_payout import SinglePayoutWorkflow


class PayoutRequest(BaseModel):
    """One payout as a backend service asks for it."""

    deposit_address: str
    amount: Decimal
    currency: str
    idempotency_key: uuid.UUID | None = None  # generated when absent
    comment: str | None = None
    external_id: str | None = None
    execution_date: datetime | None = None
    max_fee: Decimal | None = None
    ledger_account: str = "default"
    resend: ResendPolicy = Field(default_factory=ResendPolicy)
    funds_wait_seconds: float = 3600.0


class InvalidPayoutError(ValueError):
    """Raised before anything starts when a request cannot be paid; lists every problem."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


class PayoutSummary(BaseModel):
    key: str
    state: str | None
    currency: str | None
    external_id: str | None
    provider_id: str | None
    started_at: datetime | None


def validate(request: PayoutRequest) -> list[FieldProblem]:
    """Every reason `request` cannot be paid; empty when it can."""
    problems = check_payment(
        currency=request.currency, address=request.deposit_address, amount=request.amount
    )
    problems += check_execution_date(request.execution_date)
    if request.max_fee is not None and request.max_fee < 0:
        problems.append(FieldProblem("max_fee", "must not be negative"))
    if not request.ledger_account.strip():
        problems.append(FieldProblem("ledger_account", "must not be empty"))
    return problems


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
        """Validate and start the saga; idempotent by key. Returns the key."""
        problems = validate(request)
        if problems:
            raise InvalidPayoutError(problems)
        key = request.idempotency_key or uuid.uuid4()
        saga_input = PayoutInput(
            idempotency_key=key,
            poll_interval_seconds=self._settings.poll_interval_seconds,
            notify_merchant=self._settings.callback_url is not None,
            **request.model_dump(exclude={"idempotency_key"}),
        )
        await start_idempotently(
            self._client,
            "SinglePayout",
            saga_input,
            workflow_id=single_payout_workflow_id(key),
            task_queue=self._settings.task_queue,
            fingerprint=fingerprint(
                saga_input, exclude={"poll_interval_seconds", "notify_merchant"}
            ),
            summary=_summary(saga_input),
        )
        return key

    async def status(self, key: uuid.UUID) -> PayoutStatus:
        return await self._handle(key).query(SinglePayoutWorkflow.status)

    async def cancel(
        self, key: uuid.UUID, reason: str = "canceled by the merchant"
    ) -> CancelResult:
        try:
            return await self._handle(key).execute_update(
                SinglePayoutWorkflow.cancel, CancelInput(reason=reason)
            )
        except RPCError as exc:
            ended = await ended_state(self._handle(key), exc)
            return CancelResult(accepted=False, state=ended, message=f"already {ended}")

    async def reschedule(self, key: uuid.UUID, execution_date: datetime) -> RescheduleResult:
        try:
            return await self._handle(key).execute_update(
                SinglePayoutWorkflow.reschedule, RescheduleInput(execution_date=execution_date)
            )
        except RPCError as exc:
            ended = await ended_state(self._handle(key), exc)
            raise PayoutEndedError(f"payout {key} has already ended {ended}") from exc

    async def result(self, key: uuid.UUID) -> PayoutResult:
        """Wait for the saga to end and return its outcome."""
        return await self._handle(key).result()

    async def list(self, *, state: str | None = None, limit: int = 50) -> list[PayoutSummary]:
        query = "WorkflowType = 'SinglePayout'"
        if state:
            if state.upper() not in SagaState.__members__:
                raise ValueError(f"state: expected one of {', '.join(SagaState)}, got {state!r}")
            query += f" AND PayoutState = '{SagaState[state.upper()]}'"
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

    async def kind(self, key: uuid.UUID) -> str:
        """`single` or `mass`: which saga runs under this key (NotFoundError if none)."""
        for kind, workflow_id in (
            ("single", single_payout_workflow_id(key)),
            ("mass", mass_payout_workflow_id(key)),
        ):
            try:
                await self._client.get_workflow_handle(workflow_id).describe()
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue
            return kind
        raise PayoutNotFoundError(f"no payout saga with key {key}")

    def _handle(self, key: uuid.UUID) -> WorkflowHandle[SinglePayoutWorkflow, PayoutResult]:
        return self._client.get_workflow_handle_for(
            SinglePayoutWorkflow.run, single_payout_workflow_id(key)
        )


def _summary(saga_input: PayoutInput) -> str:
    address = saga_input.deposit_address
    return f"Pay {saga_input.amount} {saga_input.currency} to {address[:6]}…{address[-4:]}"
