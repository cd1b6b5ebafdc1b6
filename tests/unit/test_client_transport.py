"""What the client puts on the wire, and how transport failures are classified.

The provider side is a plain `httpx.MockTransport` here; the contract tests run the same client
against the real sandbox over loopback.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import httpx
import pytest

from calypso import wire
from calypso.client import CalypsoClient, CalypsoCredentials
from calypso.errors import (
    ConnectionFailedError,
    DuplicateKeyError,
    OutcomeUnknownError,
    UnexpectedResponseError,
)
from calypso.requests import CreatePayoutRequest, FeeQuoteItem
from calypso.signing import sign

CREDENTIALS = CalypsoCredentials(account="acc-1", api_key="pub", api_secret="sec")
KEY = UUID("00000000-0000-4000-8000-000000000001")
PAYOUT = CreatePayoutRequest(
    deposit_address="0x" + "ab" * 20,
    amount=Decimal("0.123456789012345678"),
    currency="ETH",
    idempotency_key=KEY,
)


def client_for(handler: httpx.MockTransport) -> CalypsoClient:
    return CalypsoClient("http://provider", CREDENTIALS, transport=handler, clock=lambda: 1700.5)


async def test_signs_exactly_the_bytes_it_sends() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "1", "state": "CONFIRMED"})

    async with client_for(httpx.MockTransport(handler)) as client:
        payout = await client.create_payout(PAYOUT)
    assert payout.state == "CONFIRMED"
    request = seen[0]
    assert request.url.path == "/api/v1/payout/create"
    assert request.headers["Key"] == "pub"
    assert request.headers["Sign"] == sign(request.content, "sec")
    body = wire.loads(request.content)
    assert body["account"] == "acc-1"
    assert body["timestamp"] == 1700500  # milliseconds
    assert body["payload"]["amount"] == Decimal("0.123456789012345678")
    assert b'"amount":0.123456789012345678' in request.content


async def test_tariff_calls_carry_no_account() -> None:
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return httpx.Response(200, json={"items": []})

    async with client_for(httpx.MockTransport(handler)) as client:
        await client.quote_fees([FeeQuoteItem(base_amount=Decimal(1), currency="TRX")])
    assert "account" not in wire.loads(seen[0])


async def test_provider_errors_are_raised_as_the_tree() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"errorCode": "016", "message": "dup", "traceId": "t"})

    async with client_for(httpx.MockTransport(handler)) as client:
        with pytest.raises(DuplicateKeyError) as caught:
            await client.create_payout(PAYOUT)
    assert caught.value.trace_id == "t"


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (httpx.ConnectError("refused"), ConnectionFailedError),
        (httpx.ConnectTimeout("slow"), ConnectionFailedError),
        (httpx.ReadTimeout("no answer"), OutcomeUnknownError),
        (httpx.RemoteProtocolError("dropped"), OutcomeUnknownError),
    ],
)
async def test_transport_failures(exception: Exception, expected: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    async with client_for(httpx.MockTransport(handler)) as client:
        with pytest.raises(expected):
            await client.create_payout(PAYOUT)


async def test_unreadable_success_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>")

    async with client_for(httpx.MockTransport(handler)) as client:
        with pytest.raises(UnexpectedResponseError):
            await client.get_account()


async def test_lookup_needs_exactly_one_key() -> None:
    async with client_for(httpx.MockTransport(lambda r: httpx.Response(500))) as client:
        with pytest.raises(ValueError, match="exactly one"):
            await client.get_payout()
