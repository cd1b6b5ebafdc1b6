"""The sandbox's deterministic scenarios ("test cards"), observed through the real client."""

from __future__ import annotations

import uuid
from decimal import Decimal

from calypso.client import CalypsoClient
from calypso.models import Payout
from calypso.requests import CreateMassPayoutRequest, ListWithdrawalsRequest, MassAddress
from tests.contract.conftest import TRON, Control, eventually
from tests.contract.test_endpoints import payout_request
from tests.contract.webhook_inbox import WebhookInbox

FAILS_ON_NETWORK = TRON[:-4] + "fa11"
FAILS_VALIDATION = TRON[:-4] + "bad1"
SLOW = TRON[:-4] + "5104"


async def settled(client: CalypsoClient, payout_id: str, state: str) -> Payout:
    async def reached() -> Payout | None:
        payout = await client.get_payout(id=payout_id)
        return payout if payout.state == state else None

    result: Payout = await eventually(reached)
    return result


def events_of(inbox: WebhookInbox, payout_id: str) -> list[tuple[str, str]]:
    """(type, status) of every accepted webhook about `payout_id`, in arrival order."""
    return [
        (event.type, event.payout_status or "")
        for event in inbox.received
        if event.parent_external_id == payout_id
    ]


async def events_until(inbox: WebhookInbox, payout_id: str, status: str) -> list[tuple[str, str]]:
    """Wait for the PAYOUT_CHANGE_STATUS webhook to `status`; return the payout's webhooks."""

    async def arrived() -> bool:
        return ("PAYOUT_CHANGE_STATUS", status) in events_of(inbox, payout_id)

    await eventually(arrived)
    return events_of(inbox, payout_id)


async def test_network_failure(client: CalypsoClient, control: Control) -> None:
    before = (await client.get_account()).balance_of("USDT_TRX")
    created = await client.create_payout(payout_request(deposit_address=FAILS_ON_NETWORK))
    failed = await settled(client, created.id, "FAILED")
    assert failed.errors is not None and failed.errors.withdrawal_errors
    assert (await client.get_account()).balance_of("USDT_TRX") == before  # nothing left


async def test_validation_failure_sends_validation_error_then_failed(
    client: CalypsoClient, inbox: WebhookInbox
) -> None:
    created = await client.create_payout(payout_request(deposit_address=FAILS_VALIDATION))
    seen = await events_until(inbox, created.id, "FAILED")
    types = [event_type for event_type, _ in seen]
    assert "PAYOUT_VALIDATION_ERROR" in types
    assert types.index("PAYOUT_VALIDATION_ERROR") < seen.index(("PAYOUT_CHANGE_STATUS", "FAILED"))
    assert "PAYOUT_HASH_RECEIVED" not in types


async def test_not_enough_funds(client: CalypsoClient, control: Control) -> None:
    await control.post("/sandbox/balances", {"currency": "USDT_TRX", "amount": Decimal("10")})
    created = await client.create_payout(payout_request(amount=Decimal("10")))  # + fee > 10
    failed = await settled(client, created.id, "FAILED")
    assert failed.errors is not None
    statuses = [e.status for w in failed.errors.withdrawal_errors for e in w.errors]
    assert "NOT_ENOUGH_FUNDS" in statuses
    assert (await client.get_account()).balance_of("USDT_TRX") == Decimal("10")


async def test_completed_payout_debits_amount_plus_quoted_fee(
    client: CalypsoClient, inbox: WebhookInbox
) -> None:
    before = (await client.get_account()).balance_of("USDT_TRX")
    created = await client.create_payout(payout_request(amount=Decimal("25.5")))
    seen = await events_until(inbox, created.id, "COMPLETED")
    assert any(event_type == "PAYOUT_HASH_RECEIVED" for event_type, _ in seen)
    final = await client.get_payout(id=created.id)
    assert final.fee is not None
    after = (await client.get_account()).balance_of("USDT_TRX")
    assert before - after == Decimal("25.5") + final.fee
    assert inbox.rejected == 0


async def test_slow_address_stays_in_progress_longer(client: CalypsoClient) -> None:
    slow = await client.create_payout(payout_request(deposit_address=SLOW))
    normal = await client.create_payout(payout_request())
    await settled(client, normal.id, "COMPLETED")
    assert (await client.get_payout(id=slow.id)).state == "IN_PROGRESS"
    await settled(client, slow.id, "COMPLETED")


async def test_mass_payout_with_one_failing_item_is_partial(client: CalypsoClient) -> None:
    items = [MassAddress(deposit_address=TRON, amount=Decimal(2)) for _ in range(4)]
    items[1] = MassAddress(deposit_address=FAILS_ON_NETWORK, amount=Decimal(2))
    created = await client.create_mass_payout(
        CreateMassPayoutRequest(
            currency="USDT_TRX", mass_addresses=items, idempotency_key=uuid.uuid4()
        )
    )

    async def partial() -> bool:
        return (await client.get_mass_payout(id=created.id)).state == "PARTIAL"

    await eventually(partial)
    page = await client.list_withdrawals(ListWithdrawalsRequest(deal_id=created.id))
    states = {w.deposit_address: w.state for w in page.result}
    assert states[FAILS_ON_NETWORK] == "FAILED"
    assert sorted(w.state for w in page.result) == ["COMPLETED"] * 3 + ["FAILED"]


async def test_verification_confirm_and_decline(client: CalypsoClient, control: Control) -> None:
    await control.post("/sandbox/config", {"verification": True})
    confirmed = await client.create_payout(payout_request())
    declined = await client.create_payout(payout_request())
    await settled(client, confirmed.id, "PENDING_CONFIRMATION")
    await settled(client, declined.id, "PENDING_CONFIRMATION")
    await control.post(f"/sandbox/payouts/{confirmed.id}/confirm")
    await control.post(f"/sandbox/payouts/{declined.id}/decline")
    await settled(client, confirmed.id, "COMPLETED")
    await settled(client, declined.id, "CANCELED")


async def test_execution_date_is_held_until_the_virtual_clock_passes_it(
    client: CalypsoClient, control: Control
) -> None:
    held = await client.create_payout(payout_request(execution_date="2099-01-01T00:00:00+00:00"))
    now = await client.create_payout(payout_request())
    await settled(client, now.id, "COMPLETED")
    assert (await client.get_payout(id=held.id)).state == "CONFIRMED"
    await control.post("/sandbox/clock", {"advanceSeconds": 100 * 366 * 24 * 3600})
    await settled(client, held.id, "COMPLETED")


async def test_fails_once_then_goes_through(client: CalypsoClient) -> None:
    flaky = TRON[:-4] + "f1a1"
    first = await client.create_payout(payout_request(deposit_address=flaky))
    await settled(client, first.id, "FAILED")
    second = await client.create_payout(payout_request(deposit_address=flaky))
    await settled(client, second.id, "COMPLETED")
