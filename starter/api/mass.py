"""The Python API for what only mass payouts have: preview, start, progress, report.

recipients = recipients_from_rows([("T…", Decimal("12.5"), "May salary", "emp-17"), ...],
                                  currency="USDT_TRX")
mass = MassPayouts(client, settings)
preview = await mass.preview("USDT_TRX", recipients)   # count, total, fee, balance
key = await mass.start(MassPayoutRequest(currency="USDT_TRX", recipients=recipients))

`Payouts.status`, `cancel`, `reschedule` and `result` take mass payout keys too.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

from activities.ledger import LedgerUnavailableError, SqliteLedger
from activities.ledger.shortfall import refusal_text, total_of
from activities.mass_activities import MassFundsInput
from activities.payout_models import FundsCheck
from starter.api.idempotent_start import start_idempotently
from starter.api.mass_rows import InvalidMassListError, ParsedList, parse_mass_items
from starter.api.outcomes import saga_result
from starter.api.requests import checked, saga_input
from starter.service.settings import Settings
from workflows import search_attributes as sa
from workflows.keys import mass_payout_workflow_id
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_models import (
    ItemOutcome,
    ItemState,
    MassPayoutInput,
    MassPayoutRequest,
    MassPayoutResult,
    MassProgress,
    Recipients,
)
from workflows.mass_payout import MassPayoutWorkflow
from workflows.mass_preview import MassPreviewWorkflow
from workflows.payout_models import SagaState

__all__ = [  # MassPayoutRequest: also from starter.api
    "MassPayoutRequest",
    "MassPayouts",
    "MassPreview",
    "recipients_from_parsed",
    "recipients_from_rows",
]


# The `PayoutKind` of the read-only preview workflows (`mass-preview-<uuid>`), which are no payouts.
PREVIEW = "preview"


class MassPreview(BaseModel):
    """What the user confirms before starting: count, total, fee quote and balance, and what the
    embedded ledger has available for the sub-account (None when not checked: `ledger_note`
    says why — the books live elsewhere, or there is no ledger file here)."""

    count: int
    total: Decimal
    fee: Decimal
    balance: Decimal
    currency: str = ""
    ledger_account: str = "default"
    ledger_available: Decimal | None = None
    ledger_note: str | None = None

    @property
    def enough(self) -> bool:
        return self.balance >= self.total + self.fee

    @property
    def ledger_short(self) -> bool:
        """The ledger cannot reserve the whole list: the saga would end REJECTED."""
        return self.ledger_available is not None and self.ledger_available < self.total

    def ledger_refusal(self, reference: str) -> str:
        """One line: account, currency, available, needed, and the command that funds it."""
        return refusal_text(
            sub_account=self.ledger_account,
            currency=self.currency,
            available=self.ledger_available,
            needed=self.total,
            reference=reference,
            needed_for=f"for all {self.count} items" if self.count > 1 else "",
        )


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


async def local_ledger_available(
    settings: Settings, sub_account: str, currency: str
) -> tuple[Decimal | None, str | None]:
    """What the embedded ledger has available for the sub-account, or None and why not. The
    file is read only if it exists: a preview never creates the books."""
    if settings.ledger != "sqlite":
        return None, f"not checked: PAYOUTS_LEDGER={settings.ledger} keeps the books elsewhere"
    path = Path(settings.ledger_path)
    if not await asyncio.to_thread(path.exists):
        return None, f"not checked: no ledger file at {path}"
    ledger = SqliteLedger(path)
    try:
        return (await ledger.balance(sub_account, currency)).available, None
    except LedgerUnavailableError as exc:
        return None, f"not checked: {exc}"
    finally:
        await ledger.close()


class MassPayouts:
    def __init__(self, client: Client, settings: Settings) -> None:
        self._client = client
        self._settings = settings

    async def preview(
        self, currency: str, recipients: Recipients, *, ledger_account: str = "default"
    ) -> MassPreview:
        """Count, total, the provider's fee quote and balance, and the embedded ledger's
        available amount for `ledger_account` (read from the local file, SQLite only)."""
        funds: FundsCheck = await self._client.execute_workflow(
            MassPreviewWorkflow.run,
            MassFundsInput(currency=currency, amounts=recipients.amounts),
            id=f"mass-preview-{uuid.uuid4()}",
            task_queue=self._settings.task_queue,
            # Set at start, so the workflow needs no upsert: saved views hide previews by it.
            search_attributes=TypedSearchAttributes([SearchAttributePair(sa.PAYOUT_KIND, PREVIEW)]),
        )
        available, note = await local_ledger_available(self._settings, ledger_account, currency)
        return MassPreview(
            count=len(recipients),
            total=total_of(recipients.amounts),
            fee=funds.fee,
            balance=funds.balance,
            currency=currency,
            ledger_account=ledger_account,
            ledger_available=available,
            ledger_note=note,
        )

    async def start(self, request: MassPayoutRequest) -> uuid.UUID:
        """Check the request (`InvalidMassListError`; nothing starts), then start its saga;
        idempotent by key. Returns the key."""
        mass = saga_input(MassPayoutInput, checked(request), self._settings)
        await start_idempotently(
            self._client,
            "MassPayout",
            mass,
            workflow_id=mass_payout_workflow_id(mass.idempotency_key),
            task_queue=self._settings.task_queue,
            summary=f"Pay {len(mass.recipients)} recipients in {mass.currency}"
            + (f": {mass.name}" if mass.name else ""),
        )
        return mass.idempotency_key

    async def progress(self, key: uuid.UUID) -> MassProgress:
        return await self._handle(key).query(MassPayoutWorkflow.progress)

    async def result(self, key: uuid.UUID) -> MassPayoutResult:
        """Wait for the mass payout to end (as `Payouts.result`, typed for a mass payout)."""
        return await saga_result(self._handle(key), MassPayoutResult)

    async def items_sent(self, progress: MassProgress) -> int:
        """How many items of the list the provider has: those of every deal that ended after
        sending, and of every running deal whose provider deal exists (asked of the deal)."""
        sent = 0
        for deal in progress.deals:
            if deal.state not in ("RUNNING", SagaState.NEEDS_REVIEW):
                sent += deal.items if deal.attempts else 0  # ended: attempts were sent
                continue
            handle = self._client.get_workflow_handle_for(MassDealWorkflow.run, deal.workflow_id)
            with contextlib.suppress(RPCError):
                status = await handle.query(MassDealWorkflow.status)
                sent += deal.items if any(a.provider_id for a in status.attempts) else 0
        return sent

    async def report(self, key: uuid.UUID) -> AsyncIterator[ItemOutcome]:
        """Every item's final outcome, in list order (the saga must have ended)."""
        result = await self.result(key)
        unsent: Recipients | None = None
        for deal in result.deals:
            outcomes = await self._deal_outcomes(deal.workflow_id)
            if outcomes is None:  # never sent, or its workflow failed: the saga ended its items
                unsent = unsent or await self._recipients(key)
                for item in unsent.items(deal.first_item, deal.first_item + deal.items):
                    state = ItemState.CANCELED if deal.state == "CANCELED" else ItemState.FAILED
                    reason = result.reason or f"deal {deal.state.lower()} before paying"
                    yield ItemOutcome.unpaid(item, state, reason)
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
        (received,) = await self._client.data_converter.decode(
            started.input.payloads, [MassPayoutInput]
        )
        recipients: Recipients = received.recipients
        return recipients

    def _handle(self, key: uuid.UUID) -> WorkflowHandle[MassPayoutWorkflow, MassPayoutResult]:
        return self._client.get_workflow_handle_for(
            MassPayoutWorkflow.run, mass_payout_workflow_id(key)
        )
