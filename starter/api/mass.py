"""The Python API for mass payouts: preview, start, progress, cancel, reschedule, report.

recipients = recipients_from_rows([("T…", Decimal("12.5"), "May salary", "emp-17"), ...],
                                  currency="USDT_TRX")
mass = MassPayouts(client, settings)
preview = await mass.preview("USDT_TRX", recipients)   # count, total, fee, balance
key = await mass.start(MassPayoutRequest(currency="USDT_TRX", recipients=recipients))
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError

from activities.mass_activities import MassFundsInput
from activities.payout_models import FundsCheck
from starter.api.errors import PayoutEndedError, ended_state
from starter.api.idempotent_start import fingerprint, start_idempotently
from starter.api.mass_csv import InvalidMassListError, ParsedList, RowProblem, parse_mass_items
from starter.service.settings import Settings
from workflows.keys import mass_payout_workflow_id
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_models import (
    ItemOutcome,
    ItemState,
    MassCancelResult,
    MassPayoutInput,
    MassPayoutResult,
    MassProgress,
    Recipients,
)
from workflows.mass_payout import MassPayoutWorkflow
from workflows.mass_preview import MassPreviewWorkflow
from workflows.payout_models import CancelInput, RescheduleInput, RescheduleResult, ResendPolicy


class MassPayoutRequest(BaseModel):
    currency: str
    recipients: Recipients
    name: str | None = None
    comment: str | None = None
    idempotency_key: uuid.UUID | None = None  # generated when absent
    external_id: str | None = None
    execution_date: datetime | None = None
    items_per_deal: int | None = Field(default=None, ge=1)
    max_parallel_deals: int = Field(default=10, ge=1)
    deals_per_run: int = Field(default=500, ge=1)  # continue-as-new after this many deals
    ledger_account: str = "default"
    resend: ResendPolicy = Field(default_factory=ResendPolicy)
    funds_wait_seconds: float = 3600.0


class MassPreview(BaseModel):
    """What the user confirms before starting: count, total, fee quote and balance."""

    count: int
    total: Decimal
    fee: Decimal
    balance: Decimal

    @property
    def enough(self) -> bool:
        return self.balance >= self.total + self.fee


def recipients_from_rows(
    rows: Iterable[tuple[str, Decimal, str | None, str | None]],
    *,
    currency: str,
    allow_duplicates: bool = False,
) -> Recipients:
    """Validate every row (all problems, with row numbers) and return the columns."""
    return recipients_from_parsed(
        parse_mass_items(rows, currency=currency, allow_duplicates=allow_duplicates)
    )


def recipients_from_parsed(parsed: ParsedList) -> Recipients:
    if not parsed.ok:
        raise InvalidMassListError(parsed.errors)
    return Recipients(
        addresses=[item.address for item in parsed.items],
        amounts=[item.amount for item in parsed.items],
        comments=[item.comment for item in parsed.items],
        references=[item.reference for item in parsed.items],
    )


class MassPayouts:
    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    async def preview(self, currency: str, recipients: Recipients) -> MassPreview:
        funds: FundsCheck = await self._client.execute_workflow(
            MassPreviewWorkflow.run,
            MassFundsInput(currency=currency, amounts=recipients.amounts),
            id=f"mass-preview-{uuid.uuid4()}",
            task_queue=self._settings.task_queue,
        )
        total = sum(recipients.amounts, Decimal(0))
        return MassPreview(count=len(recipients), total=total, fee=funds.fee, balance=funds.balance)

    async def start(self, request: MassPayoutRequest) -> uuid.UUID:
        if request.execution_date is not None and request.execution_date.tzinfo is None:
            raise InvalidMassListError(
                [RowProblem(None, "execution_date: must include a timezone")]
            )
        key = request.idempotency_key or uuid.uuid4()
        saga_input = MassPayoutInput(
            idempotency_key=key,
            poll_interval_seconds=self._settings.poll_interval_seconds,
            notify_merchant=self._settings.callback_url is not None,
            **request.model_dump(exclude={"idempotency_key", "recipients"}),
            recipients=request.recipients,
        )
        await start_idempotently(
            self._client,
            "MassPayout",
            saga_input,
            workflow_id=mass_payout_workflow_id(key),
            task_queue=self._settings.task_queue,
            fingerprint=fingerprint(
                saga_input, exclude={"poll_interval_seconds", "notify_merchant"}
            ),
            summary=f"Pay {len(request.recipients)} recipients in {request.currency}"
            + (f": {request.name}" if request.name else ""),
        )
        return key

    async def progress(self, key: uuid.UUID) -> MassProgress:
        return await self._handle(key).query(MassPayoutWorkflow.progress)

    async def cancel(
        self, key: uuid.UUID, reason: str = "canceled by the merchant"
    ) -> MassCancelResult:
        try:
            return await self._handle(key).execute_update(
                MassPayoutWorkflow.cancel, CancelInput(reason=reason)
            )
        except RPCError as exc:
            ended = await ended_state(self._handle(key), exc)
            return MassCancelResult(accepted=False, state=ended, message=f"already {ended}")

    async def reschedule(self, key: uuid.UUID, execution_date: datetime) -> RescheduleResult:
        try:
            return await self._handle(key).execute_update(
                MassPayoutWorkflow.reschedule, RescheduleInput(execution_date=execution_date)
            )
        except RPCError as exc:
            ended = await ended_state(self._handle(key), exc)
            raise PayoutEndedError(f"mass payout {key} has already ended {ended}") from exc

    async def result(self, key: uuid.UUID) -> MassPayoutResult:
        return await self._handle(key).result()

    async def report(self, key: uuid.UUID) -> AsyncIterator[ItemOutcome]:
        """Every item's final outcome, in list order (the saga must have ended)."""
        result = await self.result(key)
        unsent: Recipients | None = None
        for deal in result.deals:
            outcomes = await self._deal_outcomes(deal.workflow_id)
            if outcomes is None:  # never sent, or its workflow failed: the saga ended its items
                unsent = unsent or await self._recipients(key)
                for item in unsent.items(deal.first_item, deal.first_item + deal.items):
                    yield ItemOutcome(
                        index=item.index,
                        address=item.address,
                        amount=item.amount,
                        reference=item.reference,
                        state=ItemState.CANCELED if deal.state == "CANCELED" else ItemState.FAILED,
                        reason=result.reason or f"deal {deal.state.lower()} before paying",
                    )
                continue
            for finished in outcomes:
                yield finished

    async def _deal_outcomes(self, workflow_id: str) -> list[ItemOutcome] | None:
        """A deal's item outcomes, or None if it never ran or its workflow failed."""
        handle = self._client.get_workflow_handle_for(MassDealWorkflow.run, workflow_id)
        try:
            return (await handle.result()).outcomes
        except (RPCError, WorkflowFailureError):
            return None

    async def _recipients(self, key: uuid.UUID) -> Recipients:
        """The list as the saga received it (read back from its history, offloaded or not)."""
        history = await self._handle(key).fetch_history()
        started = history.events[0].workflow_execution_started_event_attributes
        (saga_input,) = await self._client.data_converter.decode(
            started.input.payloads, [MassPayoutInput]
        )
        recipients: Recipients = saga_input.recipients
        return recipients

    def _handle(self, key: uuid.UUID) -> WorkflowHandle[MassPayoutWorkflow, MassPayoutResult]:
        return self._client.get_workflow_handle_for(
            MassPayoutWorkflow.run, mass_payout_workflow_id(key)
        )
