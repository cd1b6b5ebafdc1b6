"""Stand-ins for PayoutActivities (same activity names) that run the real saga workflow against a
scripted provider, for the unit-style tests in test_saga_logic.py."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

from temporalio import activity
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Worker

from activities.admission import AdmissionActivities
from activities.admission_models import Admission, AdmitInput
from activities.callbacks import CallbackEvent
from activities.ledger import (
    LedgerEntry,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SqliteLedger,
)
from activities.other_payments import OtherPayments, OtherPaymentsInput
from activities.payout_models import (
    CreatePayoutInput,
    FetchPayoutInput,
    FundsCheck,
    FundsCheckInput,
    ProviderPayout,
)
from activities.policy import PolicySource
from starter.api.outcomes import saga_result
from starter.service.worker import workflow_runner
from tests.integration.conftest import TRON, saga_status
from workflows.keys import PROVIDER_EVENT_SIGNAL, single_payout_workflow_id
from workflows.payout_models import PayoutInput, PayoutResult, PayoutStatus, ProviderEvent
from workflows.single_payout import SinglePayoutWorkflow

FEE = Decimal("0.1275")


@dataclass
class StandInProvider:
    """Scripted provider and real SQLite books; records what the saga asked for."""

    client: Client
    ledger: SqliteLedger
    created: dict[UUID, ProviderPayout] = field(default_factory=dict)  # what create answers
    settled: dict[UUID, ProviderPayout] = field(default_factory=dict)  # what fetch answers
    early_events: dict[UUID, list[ProviderEvent]] = field(default_factory=dict)
    create_calls: list[UUID] = field(default_factory=list)
    fetch_calls: list[UUID] = field(default_factory=list)
    callbacks: list[CallbackEvent] = field(default_factory=list)
    admission_seconds: float = 0.0  # how long admission takes (real time), before the real one
    histories: list[WorkflowHistory] = field(default_factory=list)  # of every saga run

    @activity.defn(name="check_funds")
    async def check_funds(self, request: FundsCheckInput) -> FundsCheck:
        return FundsCheck(balance=Decimal(1000), fee=FEE, needed=request.amount + FEE)

    @activity.defn(name="create_payout")
    async def create_payout(self, request: CreatePayoutInput) -> ProviderPayout:
        self.create_calls.append(request.provider_key)
        # Webhooks the provider sends before its create response reaches us.
        workflow_id = activity.info().workflow_id
        assert workflow_id is not None, "runs inside the saga"
        handle = self.client.get_workflow_handle(workflow_id)
        for event in self.early_events.get(request.provider_key, []):
            await handle.signal(PROVIDER_EVENT_SIGNAL, event)
        return self.created[request.provider_key]

    @activity.defn(name="fetch_payout")
    async def fetch_payout(self, request: FetchPayoutInput) -> ProviderPayout:
        self.fetch_calls.append(request.provider_key)
        return self.settled[request.provider_key]

    @activity.defn(name="reserve_funds")
    async def reserve_funds(self, request: ReserveRequest) -> LedgerEntry:
        return await self.ledger.reserve(request)

    @activity.defn(name="settle_funds")
    async def settle_funds(self, request: SettleRequest) -> LedgerEntry:
        return await self.ledger.settle(request)

    @activity.defn(name="release_funds")
    async def release_funds(self, request: ReleaseRequest) -> LedgerEntry:
        return await self.ledger.release(request)

    @activity.defn(name="notify_merchant")
    async def notify_merchant(self, event: CallbackEvent) -> None:
        self.callbacks.append(event)

    @activity.defn(name="find_other_payments")
    async def find_other_payments(self, request: OtherPaymentsInput) -> OtherPayments:
        """The scripted provider pays nobody else: every resend is certainly unpaid."""
        return OtherPayments()

    def worker(self, task_queue: str) -> Worker:
        # Admission is the real one with no policy: the saga's reservation in the real books.
        admission = AdmissionActivities(self.ledger, PolicySource(None))

        @activity.defn(name="admit_payout")
        async def admit_payout(request: AdmitInput) -> Admission:
            await asyncio.sleep(self.admission_seconds)
            return await admission.admit_payout(request)

        return Worker(
            self.client,
            task_queue=task_queue,
            workflows=[SinglePayoutWorkflow],
            activities=[
                self.check_funds,
                self.create_payout,
                self.fetch_payout,
                self.reserve_funds,
                self.settle_funds,
                self.release_funds,
                self.notify_merchant,
                self.find_other_payments,
                admit_payout,
            ],
            workflow_runner=workflow_runner(),
        )

    async def run(self, saga_input: PayoutInput) -> tuple[PayoutResult, PayoutStatus]:
        """Run the saga to its end on a fresh task queue; its result and final status."""
        task_queue = f"logic-{uuid.uuid4()}"
        async with self.worker(task_queue):
            handle = await self.client.start_workflow(
                SinglePayoutWorkflow.run,
                saga_input,
                id=single_payout_workflow_id(saga_input.idempotency_key),
                task_queue=task_queue,
            )
            result = await saga_result(handle, PayoutResult)
            self.histories.append(await handle.fetch_history())
            return result, await saga_status(handle)  # a query needs a worker


def saga_input(**overrides: object) -> PayoutInput:
    fields: dict[str, object] = {
        "idempotency_key": uuid.uuid4(),
        "deposit_address": TRON,
        "amount": Decimal("25.5"),
        "currency": "USDT_TRX",
        "poll_interval_seconds": 3600.0,
    }
    fields.update(overrides)
    return PayoutInput.model_validate(fields)


def provider_payout(provider_id: str, state: str, **fields: object) -> ProviderPayout:
    return ProviderPayout.model_validate({"id": provider_id, "state": state, **fields})
