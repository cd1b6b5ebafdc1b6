"""A failed item is resent alone under the deal's derived key, fails again, and ends FAILED and
released; everything else is paid and settled, and the sums add up to the cent (Decimal)."""

from __future__ import annotations

from decimal import Decimal

from activities.ledger import EntryState
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import (
    FAILS,
    finished,
    ledger_states,
    mass_input,
    provider_mass_deals,
    report,
    start_mass,
)
from workflows.keys import attempt_key, mass_deal_key
from workflows.mass_models import ItemState
from workflows.payout_models import ResendPolicy, SagaState

FAILED_ITEM = 1

# Several deals poll at once here. On the time-skipping test server a deal that cancels its poll
# timer can race the server firing it ("invalid history builder state for action"), and the saga
# stalls; the real server (the dev server) drops a fired timer that is canceled. So: dev server.


async def test_failed_item_is_resent_alone_then_partial(dev_stack: Stack) -> None:
    stack = dev_stack
    addresses = [TRON] * 5
    addresses[FAILED_ITEM] = FAILS
    request = mass_input(
        addresses, items_per_deal=3, resend=ResendPolicy(max_resends=1, delay_seconds=1)
    )
    key = request.idempotency_key
    result = await finished(await start_mass(stack, request))

    # At the provider: deal 0, deal 1, then deal 0's resend with the failed item alone.
    deal0 = mass_deal_key(key, 0)
    deals = {d["idempotencyKey"]: d for d in await provider_mass_deals(stack, withdrawals=True)}
    assert set(deals) == {str(deal0), str(mass_deal_key(key, 1)), str(attempt_key(deal0, 1))}
    resend = deals[str(attempt_key(deal0, 1))]
    assert [(w["depositAddress"], w["amount"]) for w in resend["withdrawals"]] == [
        (FAILS, request.recipients.amounts[FAILED_ITEM])
    ]
    assert resend["state"] == "FAILED"
    assert len(deals[str(deal0)]["withdrawals"]) == 3

    # The saga's account of it.
    assert result.state == SagaState.PARTIAL, result.reason
    assert result.counts[ItemState.COMPLETED] == 4
    assert result.counts[ItemState.FAILED] == 1
    assert result.counts.get(ItemState.PENDING, 0) == 0
    assert [(deal.state, deal.attempts) for deal in result.deals] == [
        (SagaState.PARTIAL, 2),
        (SagaState.COMPLETED, 1),
    ]
    amounts = request.recipients.amounts
    failed_amount = amounts[FAILED_ITEM]
    assert result.released == failed_amount
    assert result.paid == sum(amounts, Decimal(0)) - failed_amount
    assert result.paid + result.released == sum(amounts, Decimal(0))
    completed = [
        w for deal in deals.values() for w in deal["withdrawals"] if w["state"] == "COMPLETED"
    ]
    assert len(completed) == 4
    assert result.fees == sum((w["calypsoFee"] for w in completed), Decimal(0))

    # Item by item: the report and the ledger.
    outcomes = await report(stack, key)
    assert [o.index for o in outcomes] == list(range(5))
    assert [o.state for o in outcomes] == [
        ItemState.FAILED if n == FAILED_ITEM else ItemState.COMPLETED for n in range(5)
    ]
    failed = outcomes[FAILED_ITEM]
    assert failed.reason and "network rejected" in failed.reason, failed.reason
    assert failed.attempts == 2
    assert failed.provider_id == resend["id"]
    assert all(o.tx_hash for o in outcomes if o.state == ItemState.COMPLETED)
    assert [o.amount for o in outcomes] == amounts
    assert await ledger_states(stack, request) == [
        EntryState.RELEASED if n == FAILED_ITEM else EntryState.SETTLED for n in range(5)
    ]
