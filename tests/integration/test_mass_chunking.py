"""A mass payout is split into provider deals at the limit: never more items than the provider
takes in one deal, never an extra deal, every item in exactly one deal and in list order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from activities.ledger import EntryState
from calypso.currencies import CURRENCIES
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import (
    finished,
    ledger_states,
    mass_creates,
    mass_input,
    provider_mass_deals,
    report,
    start_mass,
)
from workflows.keys import mass_deal_key
from workflows.mass_models import ItemState, MassPayoutInput, MassPayoutResult
from workflows.payout_models import SagaState

DEFAULT_LIMIT = CURRENCIES["USDT_TRX"].items_per_mass_payout

# Several deals poll at once here. On the time-skipping test server a deal that cancels its poll
# timer can race the server firing it ("invalid history builder state for action"), and the saga
# stalls; the real server (the dev server) drops a fired timer that is canceled. So: dev server.


async def _pay(stack: Stack, request: MassPayoutInput) -> MassPayoutResult:
    result = await finished(await start_mass(stack, request))
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts[ItemState.COMPLETED] == len(request.recipients)
    return result


async def _deals_by_index(stack: Stack, request: MassPayoutInput) -> list[dict[str, Any]]:
    """The provider's deals with their withdrawals, matched to deal indexes by their key."""
    deals = await provider_mass_deals(stack, withdrawals=True)
    by_key = {deal["idempotencyKey"]: deal for deal in deals}
    ordered = []
    for index in range(len(by_key)):
        key = str(mass_deal_key(request.idempotency_key, index))
        assert key in by_key, f"deal {index} was not sent under its key {key}"
        ordered.append(by_key.pop(key))
    assert not by_key, f"provider deals under unexpected keys: {list(by_key)}"
    return ordered


def _assert_items_in_order(deals: list[dict[str, Any]], request: MassPayoutInput) -> None:
    """Concatenated, the deals' withdrawals are the list itself, item by item."""
    sent = [(w["depositAddress"], w["amount"]) for deal in deals for w in deal["withdrawals"]]
    listed = list(zip(request.recipients.addresses, request.recipients.amounts, strict=True))
    assert sent == listed


async def test_default_limit_2n_plus_1_items_make_three_deals(dev_stack: Stack) -> None:
    stack = dev_stack
    assert DEFAULT_LIMIT == 100  # the older provider guide: 100 items per deal on Tron
    request = mass_input([TRON] * (2 * DEFAULT_LIMIT + 1))  # items_per_deal: the default
    result = await _pay(stack, request)
    deals = await _deals_by_index(stack, request)
    assert [len(deal["withdrawals"]) for deal in deals] == [DEFAULT_LIMIT, DEFAULT_LIMIT, 1]
    assert [deal["state"] for deal in deals] == ["COMPLETED"] * 3
    assert [deal.items for deal in result.deals] == [DEFAULT_LIMIT, DEFAULT_LIMIT, 1]
    assert [deal.first_item for deal in result.deals] == [0, DEFAULT_LIMIT, 2 * DEFAULT_LIMIT]
    _assert_items_in_order(deals, request)
    assert result.paid == sum(request.recipients.amounts, Decimal(0))


async def test_explicit_limit_2n_plus_1_items_make_deals_of_n_n_1(dev_stack: Stack) -> None:
    stack = dev_stack
    request = mass_input([TRON] * 7, items_per_deal=3)
    result = await _pay(stack, request)
    deals = await _deals_by_index(stack, request)
    assert [len(deal["withdrawals"]) for deal in deals] == [3, 3, 1]
    assert [deal.items for deal in result.deals] == [3, 3, 1]
    _assert_items_in_order(deals, request)
    assert len(await mass_creates(stack)) == 3  # one create per deal, no retries needed


async def test_exactly_the_limit_is_one_deal(dev_stack: Stack) -> None:
    stack = dev_stack
    request = mass_input([TRON] * DEFAULT_LIMIT)
    result = await _pay(stack, request)
    deals = await _deals_by_index(stack, request)
    assert [len(deal["withdrawals"]) for deal in deals] == [DEFAULT_LIMIT]
    assert [deal.items for deal in result.deals] == [DEFAULT_LIMIT]
    _assert_items_in_order(deals, request)


async def test_the_providers_own_item_limit_is_respected(dev_stack: Stack) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"itemLimits": {"USDT_TRX": 4}})
    request = mass_input([TRON] * 9, items_per_deal=4)
    result = await _pay(stack, request)
    deals = await _deals_by_index(stack, request)
    assert [len(deal["withdrawals"]) for deal in deals] == [4, 4, 1]
    assert [deal.items for deal in result.deals] == [4, 4, 1]
    creates = await mass_creates(stack)
    assert [call["errorCode"] for call in creates] == [None] * 3, creates
    _assert_items_in_order(deals, request)


async def test_a_deal_the_provider_refuses_fails_its_items_not_the_saga(
    dev_stack: Stack,
) -> None:
    """One deal above the provider's limit (001): its items end FAILED and released, the other
    deal is paid, and the saga ends PARTIAL rather than as a failed workflow."""
    await dev_stack.sandbox.post("/sandbox/config", {"itemLimits": {"USDT_TRX": 4}})
    request = mass_input([TRON] * 9, items_per_deal=5)  # deals of 5 (refused) and 4
    result = await finished(await start_mass(dev_stack, request))
    creates = await mass_creates(dev_stack)
    assert sorted(str(call["errorCode"]) for call in creates) == ["001", "None"], creates

    assert result.state == SagaState.PARTIAL, result.reason
    assert result.counts == {ItemState.PENDING: 0, ItemState.COMPLETED: 4, ItemState.FAILED: 5}
    assert [deal.state for deal in result.deals] == [SagaState.FAILED, SagaState.COMPLETED]
    assert result.released == sum(request.recipients.amounts[:5], Decimal(0))
    assert (
        await ledger_states(dev_stack, request)
        == [EntryState.RELEASED] * 5 + [EntryState.SETTLED] * 4
    )
    refused = (await report(dev_stack, request.idempotency_key))[:5]
    assert all(o.state == ItemState.FAILED and "limit" in (o.reason or "") for o in refused)
