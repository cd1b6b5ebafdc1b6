"""The one table of provider endpoints: a single payout and a mass deal are created, found by
idempotency key and canceled the same way, through different paths of the provider's API.

Each row also names the saga's activities for that kind: the names are part of every recorded
workflow history, so they never change. `create`, `fetch` and `cancel` below are the shared
bodies of those activities (exactly once, and a refusal to cancel is an answer, not an error).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

from activities.exactly_once import cancel_or_explain, create_exactly_once
from activities.payout_models import (
    CancelProviderInput,
    CancelProviderResult,
    FetchPayoutInput,
    ProviderPayout,
)
from calypso.client import CalypsoClient
from calypso.requests import CancelPayoutRequest


@dataclass(frozen=True)
class ProviderEndpoints:
    kind: str  # "single" or "mass"
    create_activity: str
    fetch_activity: str
    cancel_activity: str
    find: Callable[[CalypsoClient, UUID], Awaitable[ProviderPayout]]
    cancel: Callable[[CalypsoClient, CancelPayoutRequest], Awaitable[ProviderPayout]]


async def _find_payout(client: CalypsoClient, key: UUID) -> ProviderPayout:
    return ProviderPayout.from_payout(await client.get_payout(idempotency_key=key))


async def _cancel_payout(client: CalypsoClient, request: CancelPayoutRequest) -> ProviderPayout:
    return ProviderPayout.from_payout(await client.cancel_payout(request))


async def _find_mass(client: CalypsoClient, key: UUID) -> ProviderPayout:
    return ProviderPayout.from_mass_payout(await client.get_mass_payout(idempotency_key=key))


async def _cancel_mass(client: CalypsoClient, request: CancelPayoutRequest) -> ProviderPayout:
    return ProviderPayout.from_mass_payout(await client.cancel_mass_payout(request))


SINGLE_PAYOUT = ProviderEndpoints(
    kind="single",
    create_activity="create_payout",
    fetch_activity="fetch_payout",
    cancel_activity="cancel_provider_payout",
    find=_find_payout,
    cancel=_cancel_payout,
)
MASS_DEAL = ProviderEndpoints(
    kind="mass",
    create_activity="create_mass_deal",
    fetch_activity="fetch_mass_deal",
    cancel_activity="cancel_mass_deal",
    find=_find_mass,
    cancel=_cancel_mass,
)


async def create(
    endpoints: ProviderEndpoints,
    client: CalypsoClient,
    key: UUID,
    send: Callable[[], Awaitable[ProviderPayout]],
) -> ProviderPayout:
    """`send` the create call exactly once per provider `key`, even after a lost answer."""
    return await create_exactly_once(send, lambda: endpoints.find(client, key))


async def fetch(
    endpoints: ProviderEndpoints, client: CalypsoClient, request: FetchPayoutInput
) -> ProviderPayout:
    return await endpoints.find(client, request.provider_key)


async def cancel(
    endpoints: ProviderEndpoints, client: CalypsoClient, request: CancelProviderInput
) -> CancelProviderResult:
    message = CancelPayoutRequest(
        deal_id=request.provider_id, idempotency_key=request.provider_key, message=request.reason
    )
    return await cancel_or_explain(
        lambda: endpoints.cancel(client, message),
        lambda: endpoints.find(client, request.provider_key),
    )
