"""The provider's side of a reconciliation: every page of `payout/all` and `payout/mass/all`, and
the withdrawals of the mass payouts that need them.

A payout is in the window when the provider created it at or after `since`; one without a date
counts as recent. The provider documents no `createdDate` on a mass payout (docs/provider-api.md
§3), so its date is its first withdrawal's: one withdrawal read per mass payout, and every
withdrawal only for the mass payouts in the window that have finished (their items are compared).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from activities.reconcile_findings import beat
from calypso.client import CalypsoClient
from calypso.errors import NotFoundError
from calypso.models import FINAL_PAYOUT_STATES, MassPayout, Page, Payout, WireModel, Withdrawal
from calypso.requests import ListPayoutsRequest, ListWithdrawalsRequest

PAGE_SIZE = 500
WITHDRAWALS_PER_PAGE = 1000
ItemT = TypeVar("ItemT", bound=WireModel)


@dataclass
class MassAtProvider:
    payout: MassPayout
    created: datetime | None
    withdrawals: list[Withdrawal] = field(default_factory=list)  # read once it has finished


@dataclass
class ProviderSide:
    singles: list[Payout]
    masses: list[MassAtProvider]


async def read_provider(client: CalypsoClient, since: datetime) -> ProviderSide:
    def recent(created: datetime | None) -> bool:
        return created is None or created >= since

    singles = [
        payout
        async for payout in all_pages(
            lambda n: client.list_payouts(ListPayoutsRequest(page_number=n, size=PAGE_SIZE))
        )
        if recent(payout.created_date)
    ]
    masses: list[MassAtProvider] = []
    async for mass in all_pages(
        lambda n: client.list_mass_payouts(ListPayoutsRequest(page_number=n, size=PAGE_SIZE))
    ):
        first = await client.list_withdrawals(
            ListWithdrawalsRequest(deal_id=mass.id, page_number=1, page_size=1)
        )
        created = first.result[0].created_date if first.result else None
        if not recent(created):
            continue
        found = MassAtProvider(mass, created)
        if mass.state in FINAL_PAYOUT_STATES:
            found.withdrawals = await withdrawals_of(client, mass.id)
        masses.append(found)
    return ProviderSide(singles, masses)


async def withdrawals_of(client: CalypsoClient, mass_id: str) -> list[Withdrawal]:
    return [
        item
        async for item in all_pages(
            lambda n: client.list_withdrawals(
                ListWithdrawalsRequest(
                    deal_id=mass_id, page_number=n, page_size=WITHDRAWALS_PER_PAGE
                )
            )
        )
    ]


async def single_payout(client: CalypsoClient, provider_id: str) -> Payout | None:
    """The payout with this id, or None when the provider has none (004)."""
    try:
        return await client.get_payout(id=provider_id)
    except NotFoundError:
        return None


async def all_pages(read: Callable[[int], Awaitable[Page[ItemT]]]) -> AsyncIterator[ItemT]:
    """Every item of every page: `pageNumber` from 1 until an empty page or the last (`total`
    pages; none given: one), as the sandbox pages (docs/provider-api.md §3)."""
    number = 1
    while True:
        page = await read(number)
        for item in page.result:
            yield item
        beat(f"page {number}")
        if not page.result or number >= (page.total or 1):
            return
        number += 1
