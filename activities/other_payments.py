"""Before a resend: is anyone already paying these recipients at the provider?

The provider's docs tell merchants to resend a PARTIAL mass payout's failed items in its web UI.
If an operator does that and the saga resends too, a recipient is paid twice. So before a resend
the saga lists what the provider has since the original was sent — single payouts
(`payout/all`) and every withdrawal, the items of mass payouts included (`withdrawal/all`) — and
skips any recipient with a payout that is paid, on its way, or in a state we do not know. Only a
state the client knows as unpaid (FAILED, CANCELED) lets a resend go ahead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel, Field
from temporalio import activity

from calypso.client import CalypsoClient
from calypso.models import Page, WireModel
from calypso.requests import ListPayoutsRequest, ListWithdrawalsRequest

PAGE_SIZE = 500
UNPAID = frozenset({"FAILED", "CANCELED"})  # known states in which nothing was or will be paid
ItemT = TypeVar("ItemT", bound=WireModel)


class OtherPaymentsInput(BaseModel):
    currency: str
    addresses: list[str]
    since: datetime  # the saga's start: anything the provider created from then on counts
    our_keys: list[UUID] = Field(default_factory=list)  # our own attempts, not "other" payments


class OtherPayment(BaseModel):
    address: str
    provider_id: str
    state: str
    kind: str  # "payout" or "withdrawal" (an item of a mass payout, or a payout's transaction)


class OtherPayments(BaseModel):
    found: list[OtherPayment] = Field(default_factory=list)

    def for_address(self, address: str) -> OtherPayment | None:
        return next((other for other in self.found if other.address == address), None)


async def find_other_payments(client: CalypsoClient, request: OtherPaymentsInput) -> OtherPayments:
    wanted, ours = set(request.addresses), {str(key) for key in request.our_keys}
    found: list[OtherPayment] = []

    def counts(
        address: str | None, currency: str | None, state: str, created: datetime | None
    ) -> bool:
        recent = created is None or created >= request.since  # no date: assume it is recent
        return (
            address in wanted
            and currency in (None, request.currency)
            and state not in UNPAID
            and recent
        )

    async for payout in _pages(
        lambda n: client.list_payouts(ListPayoutsRequest(page_number=n, size=PAGE_SIZE))
    ):
        if payout.idempotency_key not in ours and counts(
            payout.deposit_address, payout.currency, payout.state, payout.created_date
        ):
            found.append(
                OtherPayment(
                    address=payout.deposit_address or "",
                    provider_id=payout.id,
                    state=payout.state,
                    kind="payout",
                )
            )
    known = {other.provider_id for other in found}
    async for item in _pages(
        lambda n: client.list_withdrawals(
            ListWithdrawalsRequest(page_number=n, page_size=PAGE_SIZE)
        )
    ):
        if item.id not in known and counts(
            item.deposit_address, item.currency, item.state, item.created_date
        ):
            found.append(
                OtherPayment(
                    address=item.deposit_address or "",
                    provider_id=item.id,
                    state=item.state,
                    kind="withdrawal",
                )
            )
    return OtherPayments(found=found)


async def _pages(read: Callable[[int], Awaitable[Page[ItemT]]]) -> AsyncIterator[ItemT]:
    number = 1
    while True:
        page = await read(number)
        for item in page.result:
            yield item
        if activity.in_activity():
            activity.heartbeat(number)
        if not page.result or number >= (page.total or 1):
            return
        number += 1
