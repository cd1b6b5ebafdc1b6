"""Payload validation: 001 naming the field, 014 currency, 015 address, 016 duplicate key,
and amounts that survive the round trip digit for digit."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.sandbox.helpers import SandboxClient, exact_json

ETH_ADDRESS = "0x" + "1" * 40
CREATE = "/api/v1/payout/create"
MASS_CREATE = "/api/v1/payout/mass/create"


def payout(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "depositAddress": ETH_ADDRESS,
        "amount": Decimal("1.5"),
        "currency": "ETH",
        "idempotencyKey": str(uuid.uuid4()),
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "code", "message"),
    [
        ({"depositAddress": None}, "001", "payload.depositAddress: is required"),
        ({"amount": None}, "001", "payload.amount: is required"),
        ({"amount": Decimal(0)}, "001", "payload.amount: must be greater than 0"),
        ({"amount": Decimal(-1)}, "001", "payload.amount: must be greater than 0"),
        ({"amount": "1.5"}, "001", "payload.amount: must be a JSON number, not a string"),
        ({"currency": None}, "001", "payload.currency: is required"),
        ({"currency": "DOGE"}, "014", "payload.currency: unknown or unsupported currency"),
        ({"amount": Decimal("0.1234567890123456789")}, "001", "payload.amount: has more than 18"),
        ({"currency": "USDT", "amount": Decimal("1.0000001")}, "001", "payload.amount: has more"),
        ({"currency": "TRX"}, "015", "payload.depositAddress: not a Tron address for TRX"),
        ({"depositAddress": "0x123"}, "015", "payload.depositAddress: not a Ethereum address"),
        ({"executionDate": "tomorrow"}, "001", "payload.executionDate: must be an ISO-8601"),
        ({"idempotencyKey": "order-1"}, "001", "payload.idempotencyKey: must be a UUID"),
    ],
)
def test_create_rejects(
    api: SandboxClient, overrides: dict[str, Any], code: str, message: str
) -> None:
    status, got_code, got_message = api.error(CREATE, payout(**overrides))
    assert (status, got_code) == (400, code), got_message
    assert got_message.startswith(message), got_message
    assert api.ok("/api/v1/payout/all")["totalElements"] == 0


def test_duplicate_idempotency_key_is_rejected_not_replayed(api: SandboxClient) -> None:
    first = api.ok(CREATE, payout(idempotencyKey=(key := str(uuid.uuid4()))))
    status, code, message = api.error(CREATE, payout(idempotencyKey=key))
    assert (status, code) == (400, "016")
    assert key in message
    mass = {"currency": "ETH", "massAddresses": [{"depositAddress": ETH_ADDRESS, "amount": 1}]}
    assert api.error(MASS_CREATE, {**mass, "idempotencyKey": key})[1] == "016"
    assert api.ok("/api/v1/payout", {"idempotencyKey": key})["id"] == first["id"]
    assert api.ok("/api/v1/payout/all")["totalElements"] == 1


def test_eighteen_decimals_round_trip_exactly(api: SandboxClient) -> None:
    amount = Decimal("0.123456789012345678")
    response = api.call(CREATE, payout(amount=amount))
    assert b'"amount":0.123456789012345678,' in response.content  # a number, not a string
    created = exact_json(response.content)
    assert created["amount"] == amount
    assert created["fee"] == Decimal("0.000617283945061729")  # 0.5 %, rounded up at 1e-18
    fetched = api.payout(created["id"])
    assert fetched["amount"] == amount
    quote = api.ok(
        "/api/v1/tariff/extended-fee",
        {"items": [{"baseAmount": amount, "currency": "ETH", "opType": "WITHDRAWAL"}]},
        account=False,
    )["items"][0]
    assert quote["amount"] == amount
    assert quote["feeSender"] == {
        "amount": Decimal("0.124074072957407407"),
        "fee": created["fee"],
    }
    assert quote["feeReceiver"]["amount"] == Decimal("0.122839505067283949")


def test_mass_payout_validation_names_the_item(api: SandboxClient) -> None:
    good = {"depositAddress": ETH_ADDRESS, "amount": 1}
    items = [good, good, good, {"depositAddress": ETH_ADDRESS, "amount": 0}]
    status, code, message = api.error(MASS_CREATE, {"currency": "ETH", "massAddresses": items})
    assert (status, code) == (400, "001")
    assert message == "payload.massAddresses[3].amount: must be greater than 0"
    items[3] = {"depositAddress": "T" + "a" * 33, "amount": 1}
    _, code, message = api.error(MASS_CREATE, {"currency": "ETH", "massAddresses": items})
    assert code == "015"
    assert message.startswith("payload.massAddresses[3].depositAddress:")
    _, code, message = api.error(MASS_CREATE, {"currency": "ETH", "massAddresses": []})
    assert (code, message) == ("001", "payload.massAddresses: must be a non-empty array")
    assert api.error(MASS_CREATE, {"massAddresses": [good]})[1:] == (
        "001",
        "payload.currency: is required",
    )


def test_mass_payout_item_limit(api: SandboxClient) -> None:
    item = {"depositAddress": "T" + "a" * 33, "amount": 1}
    _, code, message = api.error(MASS_CREATE, {"currency": "TRX", "massAddresses": [item] * 101})
    assert code == "001"
    assert message.startswith("payload.massAddresses: 101 items exceed the limit of 100")
    api.control("POST", "/config", {"itemLimits": {"TRX": 2}})
    assert api.error(MASS_CREATE, {"currency": "TRX", "massAddresses": [item] * 3})[1] == "001"
    assert api.ok(MASS_CREATE, {"currency": "TRX", "massAddresses": [item] * 2})["id"]


def test_unknown_ids_are_004(api: SandboxClient) -> None:
    assert api.error("/api/v1/payout", {"id": "999"})[1] == "004"
    assert api.error("/api/v1/payout/mass", {"idempotencyKey": str(uuid.uuid4())})[1] == "004"
    assert api.error("/api/v1/payout/withdrawal", {"requestId": "999"})[1] == "004"
    assert api.error("/api/v1/payout/cancel", {"dealId": "999"})[1] == "004"
    single = api.ok(CREATE, payout())
    assert api.error("/api/v1/payout/mass", {"id": single["id"]})[1] == "004"
    assert api.error("/api/v1/payout", {})[1:] == (
        "001",
        "payload.id: or payload.idempotencyKey is required",
    )


def test_webhook_subscription_lifecycle(api: SandboxClient) -> None:
    request_id = str(uuid.uuid4())
    created = api.subscribe("http://127.0.0.1:9/hook", request_id, events=["PAYOUT_CONFIRMED"])
    assert set(created) == {
        "requestId",
        "notificationEventTypes",
        "notificationServiceTypes",
        "url",
        "publicKey",
        "secretKey",
    }
    assert created["secretKey"] != created["publicKey"]
    listed = api.ok("/api/v1/subscription/webhook")
    assert listed == [{k: v for k, v in created.items() if k != "secretKey"}]
    assert api.error("/api/v1/subscription/webhook/create", {**created})[1] == "016"
    deleted = api.ok("/api/v1/subscription/webhook", {"requestId": request_id}, method="DELETE")
    assert "secretKey" not in deleted and deleted["requestId"] == request_id
    assert api.ok("/api/v1/subscription/webhook") == []
    gone = api.call("/api/v1/subscription/webhook", {"requestId": request_id}, method="DELETE")
    assert exact_json(gone.content)["errorCode"] == "004"
    bad = {"requestId": str(uuid.uuid4()), "notificationEventTypes": ["PAYOUT_DONE"], "url": "x"}
    assert api.error("/api/v1/subscription/webhook/create", bad)[1:] == (
        "001",
        "payload.notificationEventTypes[0]: must be one of PAYOUT_CHANGE_STATUS, "
        "PAYOUT_CONFIRMED, PAYOUT_HASH_RECEIVED, PAYOUT_VALIDATION_ERROR",
    )
