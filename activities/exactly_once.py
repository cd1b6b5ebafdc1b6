"""The two provider calls whose outcome may be unknown: create and cancel.

Shared by single payouts and mass-payout deals, whose endpoints differ but whose rules do not.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from temporalio import activity

from activities.payout_models import CancelProviderResult, ProviderPayout
from calypso.errors import DuplicateKeyError, InvalidStateError, NotFoundError

T = TypeVar("T")


async def create_exactly_once(
    create: Callable[[], Awaitable[T]], find_by_key: Callable[[], Awaitable[T]]
) -> T:
    """Create, unless an earlier attempt already did.

    A retried activity may follow a create that reached the provider but whose answer was lost
    (timeout, dropped connection, worker crash): look it up by idempotency key first. A 016
    duplicate on create means the same thing — it exists — so fetch it instead of failing.
    """
    if activity.in_activity() and activity.info().attempt > 1:
        try:
            return await find_by_key()
        except NotFoundError:
            pass
    try:
        return await create()
    except DuplicateKeyError:
        return await find_by_key()


async def cancel_or_explain(
    cancel: Callable[[], Awaitable[ProviderPayout]],
    current: Callable[[], Awaitable[ProviderPayout]],
) -> CancelProviderResult:
    """Ask the provider to cancel; a refusal (012) is an answer, not an error."""
    try:
        payout = await cancel()
    except InvalidStateError as refused:
        now = await current()
        if now.state == "CANCELED":  # an earlier attempt of ours got through
            return CancelProviderResult(
                accepted=True, message="canceled at the provider", payout=now
            )
        return CancelProviderResult(
            accepted=False,
            message=f"the provider refused: payout is {now.state} ({refused.message})",
            payout=now,
        )
    return CancelProviderResult(accepted=True, message="canceled at the provider", payout=payout)
