"""The Python API (`Payouts(...).mass`): starting is idempotent by key, and a key already used by
another list is refused, whether that saga is still running or has ended."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from starter.api import KeyReusedError, MassPayoutRequest
from starter.api.errors import PayoutNotFoundError
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import (
    mass_creates,
    payouts_api,
    provider_mass_deals,
    recipients,
)
from workflows.keys import mass_deal_key, mass_payout_workflow_id
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

# How long a saga may take to end: ~10 s on an idle machine; 30 s was tight with another process
# keeping one of two cores busy. Still well inside pytest's 300 s timeout.
SAGA_DEADLINE = 120


def _request(key: uuid.UUID, addresses: list[str], **overrides: object) -> MassPayoutRequest:
    fields: dict[str, object] = {
        "currency": "USDT_TRX",
        "recipients": recipients(addresses),
        "name": "May rewards",
        "idempotency_key": key,
        "items_per_deal": 2,
    }
    fields.update(overrides)
    return MassPayoutRequest.model_validate(fields)


async def test_same_key_twice_is_one_saga_and_one_set_of_deals(dev_stack: Stack) -> None:
    payouts = payouts_api(dev_stack)
    mass = payouts.mass
    key = uuid.uuid4()
    request = _request(key, [TRON] * 5)
    assert await mass.start(request) == key
    handle = dev_stack.client.get_workflow_handle(mass_payout_workflow_id(key))
    first_run = (await handle.describe()).run_id

    assert await mass.start(request) == key  # while it runs
    assert (await handle.describe()).run_id == first_run
    result = await asyncio.wait_for(mass.result(key), SAGA_DEADLINE)
    assert result.state == SagaState.COMPLETED, result.reason
    assert await mass.start(request) == key  # after it ended: still that saga, not a new one
    assert (await handle.describe()).run_id == first_run

    deals = await provider_mass_deals(dev_stack)
    assert sorted(deal["idempotencyKey"] for deal in deals) == sorted(
        str(mass_deal_key(key, n)) for n in range(3)
    )
    assert len(await mass_creates(dev_stack)) == 3
    progress = await mass.progress(key)
    assert progress.counts[ItemState.COMPLETED] == 5
    assert progress.provider_deals_sent == 3
    # `Payouts.status` asks a payout first, then a mass payout, under the same key.
    assert await payouts.status(key) == progress
    with pytest.raises(PayoutNotFoundError):
        await payouts.status(uuid.uuid4())
    outcomes = [o async for o in mass.report(key)]
    assert [(o.index, o.state) for o in outcomes] == [(n, ItemState.COMPLETED) for n in range(5)]


async def test_a_different_list_under_a_used_key_is_refused(dev_stack: Stack) -> None:
    mass = payouts_api(dev_stack).mass
    key = uuid.uuid4()
    original = _request(key, [TRON] * 3)
    other_amounts = [Decimal("9.5")] * 3
    other = _request(key, [TRON] * 3, recipients=recipients([TRON] * 3, other_amounts))
    await mass.start(original)

    with pytest.raises(KeyReusedError, match=mass_payout_workflow_id(key)):
        await mass.start(other)  # while the first list runs
    with pytest.raises(KeyReusedError):
        await mass.start(_request(key, [TRON] * 3, name="June rewards"))
    result = await asyncio.wait_for(mass.result(key), SAGA_DEADLINE)
    with pytest.raises(KeyReusedError):
        await mass.start(other)  # and after it ended

    assert result.state == SagaState.COMPLETED, result.reason
    assert result.paid == sum(original.recipients.amounts, Decimal(0))
    paid = [
        w["amount"]
        for deal in await provider_mass_deals(dev_stack, withdrawals=True)
        for w in deal["withdrawals"]
    ]
    assert sorted(paid) == sorted(original.recipients.amounts)  # nothing of the other list
