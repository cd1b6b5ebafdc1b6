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
from decimal import Decimal

from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus
from temporalio.service import RPCError

from calypso.currencies import CURRENCIES
from starter.api.approvals import decide
from starter.api.errors import PayoutEndedError, ended_state
from starter.api.idempotent_start import (
    MASS_KIND,
    MEMO_AMOUNT,
    MEMO_ITEMS,
    MEMO_TOTAL,
    SINGLE_KIND,
    start_idempotently,
)
from starter.api.mass import MassPayouts
from starter.api.outcomes import saga_result
from starter.api.requests import checked, saga_input
from starter.api.resolve import resolve
from starter.api.saga_kinds import ask_saga, find_saga
from starter.service.settings import Settings
from starter.service.temporal_client import connect
from workflows import search_attributes as sa
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
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
    ResolveInput,
    ResolveResult,
    SagaState,
)

__all__ = ["PayoutRequest", "PayoutSummary", "Payouts"]  # PayoutRequest: also from starter.api


class PayoutSummary(BaseModel):
    """One line of `Payouts.list`: a payout or a mass payout as the server's index knows it.
    `amount` is a mass payout's total; it and `items` are None for sagas started before the
    start kept them in the memo."""

    key: str
    kind: str
    state: str | None
    amount: Decimal | None = None
    items: int | None = None
    currency: str | None
    external_id: str | None
    provider_id: str | None
    started_at: datetime | None
    execution_date: datetime | None = None


class Payouts:
    """Payout sagas on one Temporal namespace and task queue."""

    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._settings = settings
        self.mass = MassPayouts(client, settings)

    @property
    def client(self) -> Client:
        """The Temporal client these payouts run on."""
        return self._client

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
        """The `status` query of a payout, or the `progress` query of a mass payout. A payout
        is asked straight away (one call, not a describe first: status is what dashboards
        poll); only when there is none is the key looked for among mass payouts."""
        answer: PayoutStatus | MassProgress = await ask_saga(
            self._client, key, lambda kind, handle: handle.query(kind.status_query)
        )
        return answer

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

    async def resolve(self, key: uuid.UUID, decision: ResolveInput) -> ResolveResult:
        """An operator's decision on a payout (or a mass item) held for review."""
        return await resolve(self._client, key, decision)

    async def approve(self, key: uuid.UUID, decision: ApproveInput) -> ApprovalResult:
        """Approve a payout waiting for approval (not its requester; a second approver must be
        someone else). `ApprovalRefusedError` says why when the saga refuses."""
        return await decide(self._client, key, decision)

    async def deny(self, key: uuid.UUID, decision: DenyInput) -> ApprovalResult:
        """Deny a payout waiting for approval: REJECTED, its reservation released."""
        return await decide(self._client, key, decision)

    async def result(self, key: uuid.UUID) -> PayoutResult | MassPayoutResult:
        """Wait for the saga to end and return its outcome."""
        kind, handle = await find_saga(self._client, key)
        result: PayoutResult | MassPayoutResult = await saga_result(handle, kind.result_type)
        return result

    async def list(
        self,
        *,
        state: str | None = None,
        kind: str | None = None,
        currency: str | None = None,
        limit: int = 50,
    ) -> list[PayoutSummary]:
        """Recent payouts and mass payouts, newest first, through the search attributes and the
        memo; filtered by saga state, kind (`single`, `mass`) and currency. Helper workflows (mass
        deals, previews) are never listed. ValueError on an unknown state, kind or currency."""
        wanted = [SAGA_TYPES[saga_kind(kind)]] if kind else list(SAGA_TYPES.values())
        query = f"WorkflowType IN ({', '.join(repr(name) for name in wanted)})"
        if state:
            query += f" AND PayoutState = '{saga_state(state)}'"
        if currency:
            query += f" AND PayoutCurrency = '{known_currency(currency)}'"
        summaries = []
        async for execution in self._client.list_workflows(query, limit=limit):
            summaries.append(await _summary(execution))
        return summaries

    async def has_worker(self) -> bool:
        """Whether a worker polls this task queue for workflow tasks: a saga moves, and its
        `status`, `cancel` and `reschedule` are answered, only while one does. The server keeps
        a poller for a few minutes after it was last seen; True when it would not say."""
        try:
            described = await self._client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace=self._client.namespace,
                    task_queue=TaskQueue(name=self._settings.task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
        except RPCError:
            return True
        return len(described.pollers) > 0


# Each kind's workflow type; the helpers (`MassPayoutDeal`, `MassPayoutPreview`) are not payouts.
SAGA_TYPES = {SINGLE_KIND: "SinglePayout", MASS_KIND: "MassPayout"}


async def _summary(execution: WorkflowExecution) -> PayoutSummary:
    attributes = execution.typed_search_attributes
    try:
        memo = await execution.memo()
    except (KeyError, RuntimeError, ValueError):  # e.g. encrypted, and this client has no key
        memo = {}
    mass = execution.workflow_type == SAGA_TYPES[MASS_KIND]
    state = attributes.get(sa.PAYOUT_STATE)
    status = execution.status
    if state is None:  # no worker has run it yet, or it was ended before one did
        if status is None or status == WorkflowExecutionStatus.RUNNING:
            state = SagaState.RECEIVED.value
        else:
            state = status.name  # e.g. TERMINATED
    amount, items = memo.get(MEMO_TOTAL if mass else MEMO_AMOUNT), memo.get(MEMO_ITEMS)
    return PayoutSummary(
        key=execution.id.removeprefix("mass-payout-" if mass else "payout-"),
        kind=MASS_KIND if mass else SINGLE_KIND,
        state=state,
        amount=Decimal(amount) if isinstance(amount, str) else None,
        items=items if mass and isinstance(items, int) else None,
        currency=attributes.get(sa.PAYOUT_CURRENCY),
        external_id=attributes.get(sa.PAYOUT_EXTERNAL_ID),
        provider_id=attributes.get(sa.CALYPSO_PAYOUT_ID),
        started_at=execution.start_time,
        execution_date=attributes.get(sa.PAYOUT_EXECUTION_DATE),
    )


def saga_state(name: str) -> SagaState:
    """The saga state `name` names, in any letter case; ValueError listing the states if none."""
    if name.upper() not in SagaState.__members__:
        raise ValueError(f"state: expected one of {', '.join(SagaState)}, got {name!r}")
    return SagaState[name.upper()]


def saga_kind(name: str) -> str:
    """The saga kind `name` names (`single` or `mass`, any letter case); ValueError if none."""
    if name.lower() not in SAGA_TYPES:
        raise ValueError(f"kind: expected one of {', '.join(SAGA_TYPES)}, got {name!r}")
    return name.lower()


def known_currency(code: str) -> str:
    """The currency code `code` names, in any letter case; ValueError listing the known ones."""
    if code.upper() not in CURRENCIES:
        raise ValueError(f"currency: expected one of {', '.join(CURRENCIES)}, got {code!r}")
    return code.upper()
