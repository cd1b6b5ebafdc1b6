"""Merchant callbacks: signed delivery verified by the merchant side, dedupe, error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError

from activities.callbacks import (
    CallbackEvent,
    CallbackRejectedError,
    CallbackUnavailableError,
    InvalidCallbackError,
    send_callback,
    verify_callback,
)
from calypso import wire
from calypso.signing import sign
from tests.ledger.conftest import LOOP, Switchboard
from tests.ledger.loopback import refusing_url
from tests.ledger.merchant_app import CallbackReceiver, Script, scripted_backend

SECRET = "callback-secret"
EVENT = CallbackEvent(
    event_id="payout-abc/3",
    payout_key="abc",
    kind="single",
    state="COMPLETED",
    provider_state="COMPLETED",
    amount=Decimal("0.123456789012345678"),
    currency="ETH",
    fee=Decimal("0.000000000000000001"),
    tx_hash="0x" + "ab" * 32,
    occurred_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
    details={"items": 1, "note": "ok"},
)


@pytest_asyncio.fixture(loop_scope="package")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # Loopback calls to an app on this event loop: milliseconds idle, but 2 s was tight on a
    # loaded 2-core machine. No test here waits for this timeout to fire.
    async with httpx.AsyncClient(timeout=30.0) as http:
        yield http


@LOOP
async def test_a_delivered_callback_verifies_on_the_merchant_side(
    switchboard: Switchboard, client: httpx.AsyncClient
) -> None:
    receiver = CallbackReceiver(SECRET)
    url = switchboard.plug(receiver.app()) + "/callbacks"
    await send_callback(client, url, SECRET, EVENT)
    assert receiver.events == {"payout-abc/3": EVENT}
    (delivery,) = receiver.received
    assert delivery.headers["event-id"] == "payout-abc/3"
    assert delivery.headers["sign"] == sign(delivery.body, SECRET)
    assert b'"amount":0.123456789012345678' in delivery.body
    assert wire.loads(delivery.body)["fee"] == Decimal("0.000000000000000001")
    body = wire.loads(delivery.body)
    assert body["payoutKey"] == "abc" and body["txHash"] == EVENT.tx_hash
    assert body["reason"] is None  # every field is present, so the merchant's schema is stable


@LOOP
async def test_a_redelivery_is_acknowledged_once_and_not_an_error(
    switchboard: Switchboard, client: httpx.AsyncClient
) -> None:
    receiver = CallbackReceiver(SECRET)
    url = switchboard.plug(receiver.app()) + "/callbacks"
    await send_callback(client, url, SECRET, EVENT)
    await send_callback(client, url, SECRET, EVENT)  # the receiver answers 409: already have it
    assert len(receiver.received) == 2 and len(receiver.events) == 1


@LOOP
async def test_a_wrong_secret_is_rejected_by_the_merchant_and_permanent(
    switchboard: Switchboard, client: httpx.AsyncClient
) -> None:
    receiver = CallbackReceiver(SECRET)
    url = switchboard.plug(receiver.app()) + "/callbacks"
    with pytest.raises(CallbackRejectedError) as caught:
        await send_callback(client, url, "not-the-secret", EVENT)
    assert caught.value.http_status == 401 and caught.value.retryable is False
    assert receiver.events == {}


@LOOP
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, None),
        (202, None),
        (409, None),
        (400, CallbackRejectedError),
        (404, CallbackRejectedError),
        (410, CallbackRejectedError),
        (408, CallbackUnavailableError),
        (429, CallbackUnavailableError),
        (500, CallbackUnavailableError),
        (502, CallbackUnavailableError),
    ],
)
async def test_status_codes_map_to_delivered_permanent_or_retryable(
    switchboard: Switchboard,
    client: httpx.AsyncClient,
    status: int,
    expected: type[Exception] | None,
) -> None:
    url = switchboard.plug(scripted_backend(Script(status=status, body=b"{}")))
    if expected is None:
        await send_callback(client, url + "/cb", SECRET, EVENT)
        return
    with pytest.raises(expected) as caught:
        await send_callback(client, url + "/cb", SECRET, EVENT)
    assert str(status) in str(caught.value) and "payout-abc/3" in str(caught.value)


@LOOP
async def test_an_unreachable_receiver_is_retryable(client: httpx.AsyncClient) -> None:
    with refusing_url() as url, pytest.raises(CallbackUnavailableError) as caught:
        await send_callback(client, url, SECRET, EVENT)
    assert caught.value.retryable is True


def test_verify_accepts_any_header_case() -> None:
    body = EVENT.to_body()
    headers = {"SIGN": sign(body, SECRET).upper(), "event-id": EVENT.event_id}
    assert verify_callback(body, headers, SECRET) == EVENT


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (EVENT.to_body(), {}, "missing Sign"),
        (EVENT.to_body(), {"Sign": sign(EVENT.to_body(), "other")}, "does not match"),
        (
            EVENT.to_body().replace(b"0.123456789012345678", b"9.123456789012345678"),
            {"Sign": sign(EVENT.to_body(), SECRET)},
            "does not match",
        ),
        (
            EVENT.to_body(),
            {"Sign": sign(EVENT.to_body(), SECRET), "Event-Id": "payout-abc/4"},
            "Event-Id",
        ),
        (b'{"eventId":"x"}', {"Sign": sign(b'{"eventId":"x"}', SECRET)}, "not a callback"),
        (b"not json", {"Sign": sign(b"not json", SECRET)}, "not a callback"),
    ],
    ids=["unsigned", "wrong-secret", "tampered", "event-id-mismatch", "incomplete", "garbage"],
)
def test_verify_refuses_what_does_not_check_out(
    body: bytes, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidCallbackError, match=message):
        verify_callback(body, headers, SECRET)


def test_events_refuse_float_amounts() -> None:
    with pytest.raises(ValidationError, match="never float"):
        CallbackEvent.model_validate(EVENT.model_dump() | {"amount": 0.1})
