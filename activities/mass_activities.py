"""The activities of the mass payout saga: funds for a whole list, deals at the provider,
their withdrawals, and the ledger moves of many items at once.

Inputs carry a deal's items or a list's amounts; above the offload threshold the payload
converter stores them outside history, so a 100,000-recipient list is not a 100,000-item event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from temporalio import activity

from activities import provider_endpoints as endpoints
from activities.boundary import as_application_errors
from activities.deal_outcomes import match_withdrawals
from activities.ledger import Ledger, LedgerRequest, ReleaseRequest, ReserveRequest, SettleRequest
from activities.mass_items import ItemOutcome, MassItem
from activities.payout_models import (
    CancelProviderInput,
    CancelProviderResult,
    FetchPayoutInput,
    FundsCheck,
    ProviderPayout,
)
from activities.provider_endpoints import MASS_DEAL
from calypso.client import CalypsoClient
from calypso.models import Withdrawal
from calypso.requests import (
    CreateMassPayoutRequest,
    FeeQuoteItem,
    ListWithdrawalsRequest,
    MassAddress,
)

QUOTE_ITEMS_PER_CALL = 500
QUOTE_CALLS_IN_FLIGHT = 4
WITHDRAWALS_PER_PAGE = 1000


class MassFundsInput(BaseModel):
    currency: str
    amounts: list[Decimal]


class CreateDealInput(BaseModel):
    provider_key: UUID
    currency: str
    items: list[MassItem]
    name: str | None = None
    comment: str | None = None


class DealOutcomesInput(BaseModel):
    provider_id: str
    attempt: int
    items: list[MassItem]
    deal_state: str | None = None  # the deal's confirmed final state at the provider


class DealOutcomes(BaseModel):
    outcomes: list[ItemOutcome]


class LedgerBatch(BaseModel):
    reserve: list[ReserveRequest] = []
    settle: list[SettleRequest] = []
    release: list[ReleaseRequest] = []


class LedgerBatchResult(BaseModel):
    applied: int


class MassActivities:
    """Mass-payout activities over the worker's provider client and ledger."""

    def __init__(self, client: CalypsoClient, ledger: Ledger) -> None:
        self._client = client
        self._ledger = ledger

    @activity.defn
    async def check_mass_funds(self, request: MassFundsInput) -> FundsCheck:
        """Balance, and each item's fee as the tariff quotes it (items pay fees one by one).
        A long list is quoted in chunks, a few at a time: the client parses one answer while
        the provider computes the next (about half the time for 100,000 items; the client's
        rate limit, when set, still spaces every call)."""
        amounts = request.amounts
        chunks = [
            amounts[start : start + QUOTE_ITEMS_PER_CALL]
            for start in range(0, len(amounts), QUOTE_ITEMS_PER_CALL)
        ]
        in_flight = asyncio.Semaphore(QUOTE_CALLS_IN_FLIGHT)
        quoted = 0

        async def fee_of(chunk: list[Decimal]) -> Decimal:
            nonlocal quoted
            async with in_flight:  # build a chunk's items only when it is sent, not all at once
                items = [FeeQuoteItem(base_amount=a, currency=request.currency) for a in chunk]
                quote = await self._client.quote_fees(items)
            quoted += len(chunk)
            activity.heartbeat(quoted)
            return sum(quote.sender_fees(len(chunk)), Decimal(0))

        with as_application_errors():
            account = await self._client.get_account()
            fees = await asyncio.gather(*(fee_of(chunk) for chunk in chunks))
        fee = sum(fees, Decimal(0))
        total = sum(amounts, Decimal(0))
        return FundsCheck(balance=account.balance_of(request.currency), fee=fee, needed=total + fee)

    @activity.defn
    async def create_mass_deal(self, request: CreateDealInput) -> ProviderPayout:
        """Create the deal at the provider exactly once (the same rules as a single payout)."""

        async def send() -> ProviderPayout:
            mass = await self._client.create_mass_payout(
                CreateMassPayoutRequest(
                    currency=request.currency,
                    idempotency_key=request.provider_key,
                    name=request.name,
                    comment=request.comment,
                    mass_addresses=[
                        MassAddress(
                            deposit_address=item.address, amount=item.amount, comment=item.comment
                        )
                        for item in request.items
                    ],
                )
            )
            return ProviderPayout.from_mass_payout(mass)

        with as_application_errors():
            return await endpoints.create(MASS_DEAL, self._client, request.provider_key, send)

    @activity.defn
    async def fetch_mass_deal(self, request: FetchPayoutInput) -> ProviderPayout:
        with as_application_errors():
            return await endpoints.fetch(MASS_DEAL, self._client, request)

    @activity.defn
    async def cancel_mass_deal(self, request: CancelProviderInput) -> CancelProviderResult:
        with as_application_errors():
            return await endpoints.cancel(MASS_DEAL, self._client, request)

    @activity.defn
    async def read_deal_outcomes(self, request: DealOutcomesInput) -> DealOutcomes:
        """Each item's outcome from the deal's withdrawals (every page)."""
        withdrawals: list[Withdrawal] = []
        page_number = 1
        with as_application_errors():
            while True:
                page = await self._client.list_withdrawals(
                    ListWithdrawalsRequest(
                        deal_id=request.provider_id,
                        page_number=page_number,
                        page_size=WITHDRAWALS_PER_PAGE,
                    )
                )
                withdrawals.extend(page.result)
                if not page.result or page_number >= (page.total or 1):
                    break
                page_number += 1
        outcomes = match_withdrawals(
            request.items,
            withdrawals,
            provider_id=request.provider_id,
            attempt=request.attempt,
            deal_state=request.deal_state,
        )
        return DealOutcomes(outcomes=outcomes)

    @activity.defn
    async def apply_ledger_batch(self, batch: LedgerBatch) -> LedgerBatchResult:
        requests: list[LedgerRequest] = [*batch.reserve, *batch.settle, *batch.release]
        with as_application_errors():
            await self._ledger.apply_many(requests)
        return LedgerBatchResult(applied=len(requests))

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.check_mass_funds,
            self.create_mass_deal,
            self.fetch_mass_deal,
            self.cancel_mass_deal,
            self.read_deal_outcomes,
            self.apply_ledger_batch,
        ]
