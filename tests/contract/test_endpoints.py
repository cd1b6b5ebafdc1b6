"""Every endpoint, called with the real client against the sandbox over loopback."""

from __future__ import annotations

import uuid
from decimal import Decimal

from calypso import wire
from calypso.client import CalypsoClient
from calypso.requests import (
    CancelPayoutRequest,
    CreateMassPayoutRequest,
    CreatePayoutRequest,
    CreateWebhookSubscriptionRequest,
    FeeQuoteItem,
    ListPayoutsRequest,
    ListWithdrawalsRequest,
    MassAddress,
)
from tests.contract.conftest import EVM, TRON, Control, eventually


def payout_request(**overrides: object) -> CreatePayoutRequest:
    fields: dict[str, object] = {
        "deposit_address": TRON,
        "amount": Decimal("25.5"),
        "currency": "USDT_TRX",
        "idempotency_key": uuid.uuid4(),
    }
    fields.update(overrides)
    return CreatePayoutRequest.model_validate(fields)


async def test_account_and_fee_quote(client: CalypsoClient, control: Control) -> None:
    await control.post("/sandbox/balances", {"currency": "USDT_TRX", "amount": Decimal("100.25")})
    await control.post(
        "/sandbox/fees", {"currency": "USDT_TRX", "percent": Decimal("1"), "fixed": Decimal("0.5")}
    )
    account = await client.get_account()
    assert account.balance_of("USDT_TRX") == Decimal("100.25")

    quote = await client.quote_fees([FeeQuoteItem(base_amount=Decimal(10), currency="USDT_TRX")])
    item = quote.items[0]
    assert item.fee_sender is not None and item.fee_receiver is not None
    assert item.fee_sender.fee == Decimal("0.6")
    assert item.fee_sender.amount == Decimal("10.6")
    assert item.fee_receiver.amount == Decimal("9.4")


async def test_single_payout_create_get_list_and_complete(
    client: CalypsoClient, control: Control
) -> None:
    request = payout_request(comment="march invoice", external_id="inv-7")
    created = await client.create_payout(request)
    assert created.amount == Decimal("25.5")
    assert created.idempotency_key == str(request.idempotency_key)

    by_key = await client.get_payout(idempotency_key=request.idempotency_key)
    assert by_key.id == created.id

    async def completed() -> bool:
        return (await client.get_payout(id=created.id)).state == "COMPLETED"

    await eventually(completed)
    final = await client.get_payout(id=created.id)
    assert final.transaction_hash and final.fee is not None and final.fee > 0
    assert final.external_id == "inv-7"

    page = await client.list_payouts(ListPayoutsRequest(state_names=["COMPLETED"]))
    assert [p.id for p in page.result] == [created.id]
    assert page.total_elements == 1

    withdrawals = await client.list_withdrawals(ListWithdrawalsRequest(deal_id=created.id))
    assert len(withdrawals.result) == 1
    withdrawal = await client.get_withdrawal(withdrawals.result[0].id)
    assert withdrawal.state == "COMPLETED"
    assert withdrawal.amount == Decimal("25.5")


async def test_eighteen_decimals_arrive_unchanged(client: CalypsoClient, control: Control) -> None:
    amount = Decimal("0.123456789012345678")
    created = await client.create_payout(
        payout_request(deposit_address=EVM, amount=amount, currency="ETH")
    )
    assert created.amount == amount
    requests = await control.get("/sandbox/requests")
    creates = [r for r in requests if r["path"] == "/api/v1/payout/create"]
    assert b'"amount":0.123456789012345678' in creates[-1]["body"].encode()
    stored = await control.get(f"/sandbox/payouts/{created.id}")
    assert Decimal(str(stored["amount"])) == amount


async def test_cancel_a_future_dated_payout(client: CalypsoClient, control: Control) -> None:
    request = payout_request(execution_date="2099-01-01T00:00:00+00:00")
    created = await client.create_payout(request)
    canceled = await client.cancel_payout(
        CancelPayoutRequest(deal_id=created.id, idempotency_key=uuid.uuid4(), message="not needed")
    )
    assert canceled.state == "CANCELED"
    assert canceled.cancellation is not None
    assert canceled.cancellation.cancel_message == "not needed"
    future = await client.list_payouts(ListPayoutsRequest(is_execution_date_in_future=True))
    assert [p.id for p in future.result] == [created.id]


async def test_mass_payout_endpoints_and_withdrawal_pages(
    client: CalypsoClient, control: Control
) -> None:
    items = [
        MassAddress(deposit_address=TRON, amount=Decimal(n), comment=f"player {n}")
        for n in range(1, 8)
    ]
    key = uuid.uuid4()
    created = await client.create_mass_payout(
        CreateMassPayoutRequest(
            currency="USDT_TRX", mass_addresses=items, idempotency_key=key, name="rewards"
        )
    )
    assert (await client.get_mass_payout(idempotency_key=key)).id == created.id

    async def completed() -> bool:
        return (await client.get_mass_payout(id=created.id)).state == "COMPLETED"

    await eventually(completed)
    final = await client.get_mass_payout(id=created.id)
    assert final.total_withdrawal_amount == Decimal(28)
    listed = await client.list_mass_payouts(ListPayoutsRequest())
    assert [m.id for m in listed.result] == [created.id]

    seen = []
    page_number, pages = 1, 1
    while page_number <= pages:
        page = await client.list_withdrawals(
            ListWithdrawalsRequest(deal_id=created.id, page_number=page_number, page_size=3)
        )
        pages = page.total or 0
        seen.extend(page.result)
        page_number += 1
    assert pages == 3
    assert sorted(w.amount or 0 for w in seen) == [Decimal(n) for n in range(1, 8)]
    assert {w.state for w in seen} == {"COMPLETED"}


async def test_mass_cancel(client: CalypsoClient, control: Control) -> None:
    created = await client.create_mass_payout(
        CreateMassPayoutRequest(
            currency="USDT_TRX",
            mass_addresses=[MassAddress(deposit_address=TRON, amount=Decimal(1))],
            idempotency_key=uuid.uuid4(),
            execution_date="2099-01-01T00:00:00+00:00",
        )
    )
    canceled = await client.cancel_mass_payout(CancelPayoutRequest(deal_id=created.id))
    assert canceled.state == "CANCELED"


async def test_webhook_subscriptions(client: CalypsoClient, control: Control) -> None:
    request_id = uuid.uuid4()
    created = await client.create_webhook_subscription(
        CreateWebhookSubscriptionRequest(request_id=request_id, url="http://127.0.0.1:9/hook")
    )
    assert created.public_key and created.secret_key
    listed = await client.list_webhook_subscriptions()
    assert [s.request_id for s in listed] == [str(request_id)]
    assert listed[0].secret_key is None  # the secret is shown once, at creation
    deleted = await client.delete_webhook_subscription(request_id)
    assert deleted.request_id == str(request_id)
    assert await client.list_webhook_subscriptions() == []


async def test_requests_log_never_holds_the_signature(
    client: CalypsoClient, control: Control
) -> None:
    await client.get_account()
    logged = wire.dumps(await control.get("/sandbox/requests"))
    assert b"sandbox-secret-key" not in logged
    assert b"Sign" not in logged
