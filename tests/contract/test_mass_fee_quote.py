"""The mass funds check quotes a long list in chunks, several in flight, and adds up every
item's fee exactly as one call for the whole list would."""

from __future__ import annotations

from decimal import Decimal

from temporalio.testing import ActivityEnvironment

from activities.ledger.no_ledger import NoLedger
from activities.mass_activities import QUOTE_ITEMS_PER_CALL, MassActivities, MassFundsInput
from calypso.client import CalypsoClient
from calypso.requests import FeeQuoteItem
from tests.contract.conftest import Control

CURRENCY = "USDT_TRX"


async def test_a_long_list_is_quoted_in_chunks_and_every_fee_counted(
    client: CalypsoClient, control: Control
) -> None:
    items = 4 * QUOTE_ITEMS_PER_CALL + 37  # five chunks, the last one short
    amounts = [Decimal("1.5") + Decimal(n) / 1000 for n in range(items)]
    whole = await client.quote_fees(
        [FeeQuoteItem(base_amount=a, currency=CURRENCY) for a in amounts]
    )
    expected = sum(whole.sender_fees(items), Decimal(0))
    await control.post("/sandbox/reset")
    heartbeats: list[object] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: heartbeats.append(details[0])

    funds = await env.run(
        MassActivities(client, NoLedger()).check_mass_funds,
        MassFundsInput(currency=CURRENCY, amounts=amounts),
    )

    assert funds.fee == expected
    assert funds.needed == sum(amounts, Decimal(0)) + expected
    quotes = [
        r for r in await control.get("/sandbox/requests") if r["path"].endswith("extended-fee")
    ]
    assert len(quotes) == 5
    assert heartbeats[-1] == items  # progress counts every quoted item once
