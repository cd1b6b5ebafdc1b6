"""The payout state machine over real HTTP, with signed webhooks to a local receiver."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tests.sandbox.helpers import SandboxClient, WebhookReceiver, hmac_sha512_hex, wait_for

ETH = "0x" + "1" * 40
FAILS_ON_NETWORK = "0x" + "2" * 36 + "fa11"
FAILS_VALIDATION = "0x" + "3" * 36 + "Bad1"
SLOW = "0x" + "4" * 36 + "5104"
TERMINAL = {"COMPLETED", "FAILED", "CANCELED", "PARTIAL"}


def create(api: SandboxClient, address: str = ETH, **extra: Any) -> Any:
    payload = {
        "depositAddress": address,
        "amount": Decimal("2.5"),
        "currency": "ETH",
        "idempotencyKey": str(uuid.uuid4()),
        "externalId": "order-42",
        **extra,
    }
    return api.ok("/api/v1/payout/create", payload)


def create_mass(api: SandboxClient, addresses: list[str], **extra: Any) -> Any:
    items = [{"depositAddress": a, "amount": Decimal("1.25"), "comment": a[-4:]} for a in addresses]
    payload = {"currency": "ETH", "massAddresses": items, "idempotencyKey": str(uuid.uuid4())}
    return api.ok("/api/v1/payout/mass/create", {**payload, **extra})


def history(api: SandboxClient, payout_id: str) -> list[str]:
    return [h["state"] for h in api.control("GET", f"/payouts/{payout_id}")["history"]]


def test_single_payout_completes_debits_amount_plus_fee_and_signs_webhooks(
    api: SandboxClient, receiver: WebhookReceiver
) -> None:
    subscription = api.subscribe(receiver.url, str(uuid.uuid4()))
    before = api.balance("ETH")
    created = create(api)
    assert created["state"] == "CREATED"
    done = api.wait_state(created["id"], TERMINAL)
    assert done["state"] == "COMPLETED"
    assert done["transactionHash"].startswith("0x") and len(done["transactionHash"]) == 66
    assert done["fee"] == Decimal("0.0125") and done["feePercentage"] == Decimal("0.5")
    assert api.balance("ETH") == before - Decimal("2.5") - Decimal("0.0125")
    assert history(api, created["id"]) == ["CREATED", "CONFIRMED", "IN_PROGRESS", "COMPLETED"]

    wait_for(lambda: len(receiver.deliveries) >= 6, what="six webhooks")
    events = receiver.received()
    assert [(e.event["type"], e.event["payoutStatus"]) for e in events] == [
        ("PAYOUT_CHANGE_STATUS", "CREATED"),
        ("PAYOUT_CHANGE_STATUS", "CONFIRMED"),
        ("PAYOUT_CONFIRMED", "CONFIRMED"),
        ("PAYOUT_CHANGE_STATUS", "IN_PROGRESS"),
        ("PAYOUT_HASH_RECEIVED", "IN_PROGRESS"),
        ("PAYOUT_CHANGE_STATUS", "COMPLETED"),
    ]
    for delivery in events:
        assert delivery.headers["Key"] == subscription["publicKey"]
        assert delivery.headers["Sign"] == hmac_sha512_hex(delivery.body, subscription["secretKey"])
        assert delivery.headers["Content-Type"] == "application/json"
        assert set(delivery.event) == {
            "type", "parentExternalId", "payoutStatus", "hash",
            "createdDate", "idempotencyKey", "currency", "externalId",
        }  # fmt: skip
        assert delivery.event["parentExternalId"] == created["id"]
        assert delivery.event["idempotencyKey"] == created["idempotencyKey"]
        assert delivery.event["externalId"] == "order-42"
    assert events[4].event["hash"] == done["transactionHash"]
    assert events[0].event["hash"] is None

    withdrawals = api.ok("/api/v1/payout/withdrawal/all", {"dealId": created["id"]})
    assert withdrawals["totalElements"] == 1
    only = withdrawals["result"][0]
    assert (only["state"], only["calypsoFee"]) == ("COMPLETED", Decimal("0.0125"))
    assert api.ok("/api/v1/payout/withdrawal", {"requestId": only["id"]}) == only
    log = api.control("GET", f"/webhooks?payoutId={created['id']}")
    assert {entry["outcome"] for entry in log} == {"delivered"}


def test_event_type_subscription_only_gets_its_events(
    api: SandboxClient, receiver: WebhookReceiver
) -> None:
    api.subscribe(receiver.url, str(uuid.uuid4()), events=["PAYOUT_CONFIRMED"], services=[])
    api.wait_state(create(api)["id"], TERMINAL)
    wait_for(receiver.received, what="the confirmation webhook")
    assert [d.event["type"] for d in receiver.received()] == ["PAYOUT_CONFIRMED"]


def test_verification_confirm_and_decline(api: SandboxClient) -> None:
    api.control("POST", "/config", {"verification": True})
    confirmed, declined = create(api), create(api)
    for payout in (confirmed, declined):
        api.wait_state(payout["id"], {"PENDING_CONFIRMATION"})
    api.control("POST", f"/payouts/{confirmed['id']}/confirm")
    assert api.wait_state(confirmed["id"], TERMINAL)["state"] == "COMPLETED"
    result = api.control("POST", f"/payouts/{declined['id']}/decline", {"message": "not today"})
    assert result["state"] == "CANCELED"
    assert result["cancellation"]["cancelMessage"] == "not today"
    again = api.http.post(f"/sandbox/payouts/{declined['id']}/confirm")
    assert again.status_code == 409


def test_future_execution_date_is_held_until_the_virtual_clock_passes_it(
    api: SandboxClient,
) -> None:
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    held = create(api, executionDate=later)
    api.wait_state(held["id"], {"CONFIRMED"})
    future = api.ok("/api/v1/payout/all", {"isExecutionDateInFuture": True})
    assert [p["id"] for p in future["result"]] == [held["id"]]
    api.control("POST", "/clock", {"advanceSeconds": 29 * 86400})
    assert api.payout(held["id"])["state"] == "CONFIRMED"
    clock = api.control("POST", "/clock", {"advanceSeconds": 86400 + 60})
    assert clock["offsetSeconds"] == 30 * 86400 + 60
    assert api.wait_state(held["id"], TERMINAL)["state"] == "COMPLETED"
    past = create(api, executionDate="2020-01-01T00:00:00Z")  # a past date means now
    assert api.wait_state(past["id"], TERMINAL)["state"] == "COMPLETED"


def test_cancel_before_start_is_allowed_and_after_is_012(api: SandboxClient) -> None:
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    held = create(api, executionDate=later)
    api.wait_state(held["id"], {"CONFIRMED"})
    canceled = api.ok(
        "/api/v1/payout/cancel",
        {"dealId": held["id"], "idempotencyKey": held["idempotencyKey"], "message": "changed mind"},
    )
    assert canceled["state"] == "CANCELED"
    assert canceled["cancellation"]["cancelMessage"] == "changed mind"
    status, code, message = api.error("/api/v1/payout/cancel", {"dealId": held["id"]})
    assert (status, code) == (400, "012")
    assert "CANCELED" in message

    done = api.wait_state(create(api)["id"], TERMINAL)
    _, code, message = api.error(
        "/api/v1/payout/cancel", {"idempotencyKey": done["idempotencyKey"]}
    )
    assert code == "012" and "COMPLETED" in message


def test_mass_payout_with_a_failing_item_is_partial(api: SandboxClient) -> None:
    before = api.balance("ETH")
    mass = create_mass(api, [ETH, FAILS_ON_NETWORK, ETH], name="payroll")
    assert mass["state"] == "CREATION_IN_PROGRESS"
    assert mass["totalWithdrawalAmount"] == Decimal("3.75")
    assert mass["totalFee"] == Decimal("0.01875")
    done = api.wait_state(mass["id"], TERMINAL, mass=True)
    assert done["state"] == "PARTIAL"
    errors = done["errors"]["withdrawalErrors"]
    assert len(errors) == 1
    assert errors[0]["errors"][0]["errorMessage"] == "network rejected the transaction"
    # The failed item's amount and fee came back: two items paid in the end.
    assert api.balance("ETH") == before - 2 * (Decimal("1.25") + Decimal("0.00625"))

    page1 = api.ok(
        "/api/v1/payout/withdrawal/all", {"dealId": mass["id"], "pageNumber": 1, "pageSize": 2}
    )
    page2 = api.ok(
        "/api/v1/payout/withdrawal/all",
        {"idempotencyKey": mass["idempotencyKey"], "pageNumber": 2, "pageSize": 2},
    )
    assert (page1["total"], page1["totalElements"], page1["size"], page1["page"]) == (2, 3, 2, 1)
    states = [w["state"] for w in page1["result"] + page2["result"]]
    assert states == ["COMPLETED", "FAILED", "COMPLETED"]
    failed = api.ok(
        "/api/v1/payout/withdrawal/all", {"dealId": mass["id"], "stateNames": ["FAILED"]}
    )
    assert [w["depositAddress"] for w in failed["result"]] == [FAILS_ON_NETWORK]
    listed = api.ok("/api/v1/payout/mass/all", {"stateNames": ["PARTIAL"]})
    assert [m["id"] for m in listed["result"]] == [mass["id"]]


def test_mass_payout_all_failed_and_all_ok(api: SandboxClient) -> None:
    failed = create_mass(api, [FAILS_ON_NETWORK, FAILS_VALIDATION])
    ok = create_mass(api, [ETH, SLOW])
    assert api.wait_state(failed["id"], TERMINAL, mass=True)["state"] == "FAILED"
    assert api.wait_state(ok["id"], TERMINAL, mass=True)["state"] == "COMPLETED"


def test_insufficient_funds_fail_with_not_enough_funds(
    api: SandboxClient, receiver: WebhookReceiver
) -> None:
    api.subscribe(receiver.url, str(uuid.uuid4()))
    api.control("POST", "/balances", {"currency": "ETH", "amount": Decimal("2.51")})
    failed = api.wait_state(create(api)["id"], TERMINAL)  # needs 2.5 + 0.0125
    assert failed["state"] == "FAILED"
    error = failed["errors"]["withdrawalErrors"][0]["errors"][0]
    assert error["status"] == "NOT_ENOUGH_FUNDS" and error["errorResolved"] is False
    assert api.balance("ETH") == Decimal("2.51")
    wait_for(lambda: len(receiver.deliveries) == 6, what="six webhooks")
    assert [(d.event["type"], d.event["payoutStatus"]) for d in receiver.received()][3:] == [
        ("PAYOUT_CHANGE_STATUS", "IN_PROGRESS"),
        ("PAYOUT_VALIDATION_ERROR", "IN_PROGRESS"),
        ("PAYOUT_CHANGE_STATUS", "FAILED"),
    ]
    # In a mass payout only the items that would overdraw fail.
    api.control("POST", "/balances", {"currency": "ETH", "amount": Decimal("1.25625")})
    mass = create_mass(api, [ETH, ETH])
    assert api.wait_state(mass["id"], TERMINAL, mass=True)["state"] == "PARTIAL"
    assert api.balance("ETH") == 0


def test_test_cards_work_on_base58_chains(api: SandboxClient) -> None:
    tron = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
    payouts = {
        suffix: api.ok(
            "/api/v1/payout/create",
            {"depositAddress": tron[:-4] + suffix, "amount": 3, "currency": "USDT_TRX"},
        )["id"]
        for suffix in ("5104", "fa11", "bad1")
    }
    assert api.wait_state(payouts["fa11"], TERMINAL)["state"] == "FAILED"
    assert api.wait_state(payouts["bad1"], TERMINAL)["state"] == "FAILED"
    assert api.payout(payouts["5104"])["state"] == "IN_PROGRESS"
    assert api.wait_state(payouts["5104"], TERMINAL)["state"] == "COMPLETED"


def test_validation_scenario_and_slow_scenario(api: SandboxClient) -> None:
    bad = api.wait_state(create(api, FAILS_VALIDATION)["id"], TERMINAL)
    assert bad["state"] == "FAILED" and bad["transactionHash"] is None
    assert history(api, bad["id"])[-2:] == ["IN_PROGRESS", "FAILED"]
    slow = create(api, SLOW)
    normal = create(api)
    api.wait_state(normal["id"], {"COMPLETED"})
    assert api.payout(slow["id"])["state"] == "IN_PROGRESS"
    assert api.wait_state(slow["id"], TERMINAL)["state"] == "COMPLETED"


def test_payout_list_filters_and_pages_newest_first(api: SandboxClient) -> None:
    ids = [create(api)["id"] for _ in range(3)]
    page = api.ok("/api/v1/payout/all", {"pageNumber": 1, "size": 2})
    assert [p["id"] for p in page["result"]] == ids[::-1][:2]
    assert (page["total"], page["totalElements"]) == (2, 3)
    for payout_id in ids:
        api.wait_state(payout_id, TERMINAL)
    done = api.ok("/api/v1/payout/all", {"stateNames": ["COMPLETED"], "size": 10})
    assert done["totalElements"] == 3
    assert api.ok("/api/v1/payout/all", {"stateNames": ["FAILED"]})["result"] == []
    assert len(api.control("GET", "/payouts")) == 3


def test_mass_payout_cancel_while_pending(api: SandboxClient) -> None:
    api.control("POST", "/config", {"verification": True})
    mass = create_mass(api, [ETH, ETH])
    api.wait_state(mass["id"], {"PENDING_CONFIRMATION"}, mass=True)
    canceled = api.ok("/api/v1/payout/mass/cancel", {"dealId": mass["id"], "message": "oops"})
    assert canceled["state"] == "CANCELED"
    items = api.ok("/api/v1/payout/withdrawal/all", {"dealId": mass["id"]})["result"]
    assert {w["state"] for w in items} == {"CANCELED"}
    assert api.error("/api/v1/payout/mass/cancel", {"dealId": mass["id"]})[1] == "012"
    assert api.error("/api/v1/payout/cancel", {"dealId": mass["id"]})[1] == "004"
