"""HttpLedger on the wire: what it signs and sends, and how the backend's answers map to errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio

from activities.ledger import (
    HttpLedger,
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerError,
    LedgerNotFoundError,
    LedgerStateError,
    LedgerUnavailableError,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)
from calypso import wire
from calypso.signing import sign
from tests.ledger.conftest import LEDGER_SECRET, LOOP, LedgerUnderTest, Switchboard
from tests.ledger.loopback import refusing_url
from tests.ledger.merchant_app import Script, scripted_backend

RESERVE = ReserveRequest(
    key="mass-7/item/2", sub_account="acme", currency="ETH", amount=Decimal("0.123456789012345678")
)


pytestmark = LOOP


@pytest.fixture
def script() -> Script:
    return Script()


@pytest_asyncio.fixture(loop_scope="package")
async def scripted(script: Script, switchboard: Switchboard) -> AsyncIterator[HttpLedger]:
    # Loopback calls answered from this event loop: 2 s was tight on a loaded 2-core machine.
    # (The timeout test uses its own 0.2 s client; nothing waits for this one to fire.)
    ledger = HttpLedger(switchboard.plug(scripted_backend(script)) + "/", "s3cret", timeout=30.0)
    try:
        yield ledger
    finally:
        if script.hang is not None:
            script.hang.set()  # let a held request finish before the next test
        await ledger.close()


@pytest.mark.parametrize("under_test", ["http"], indirect=True)
async def test_sends_signed_exact_json_with_the_idempotency_key(
    under_test: LedgerUnderTest,
) -> None:
    await under_test.books.fund("acme", "ETH", Decimal(1))
    await under_test.ledger.reserve(RESERVE)
    await under_test.ledger.settle(SettleRequest(key=RESERVE.key, paid_amount=RESERVE.amount))
    reserved, settled = under_test.received
    assert reserved.path == "reserve" and settled.path == "settle"
    assert reserved.headers["idempotency-key"] == "mass-7/item/2"
    assert reserved.headers["sign"] == sign(reserved.body, LEDGER_SECRET)
    assert reserved.headers["content-type"] == "application/json"
    assert b'"amount":0.123456789012345678' in reserved.body
    assert wire.loads(reserved.body) == {
        "key": "mass-7/item/2",
        "subAccount": "acme",
        "currency": "ETH",
        "amount": Decimal("0.123456789012345678"),
    }
    assert wire.loads(settled.body)["paidAmount"] == Decimal("0.123456789012345678")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (409, {"code": "conflict", "message": "other amount"}, LedgerConflictError),
        (409, {"code": "invalid_state", "message": "released"}, LedgerStateError),
        (409, {}, LedgerConflictError),
        (404, {"code": "not_found"}, LedgerNotFoundError),
        (400, {"code": "bad_request", "message": "no"}, LedgerError),
        (401, {"code": "bad_signature"}, LedgerError),
        (422, {}, LedgerError),
        (500, {"message": "boom"}, LedgerUnavailableError),
        (503, {}, LedgerUnavailableError),
        (429, {}, LedgerUnavailableError),
        (408, {}, LedgerUnavailableError),
    ],
)
async def test_status_codes_map_to_the_error_tree(
    script: Script,
    scripted: HttpLedger,
    status: int,
    body: dict[str, str],
    expected: type[LedgerError],
) -> None:
    script.status, script.body = status, wire.dumps(body)
    with pytest.raises(LedgerError) as caught:
        await scripted.release(ReleaseRequest(key="p-1"))
    assert type(caught.value) is expected
    assert caught.value.retryable is (expected is LedgerUnavailableError)
    assert "p-1" in str(caught.value) and str(status) in str(caught.value)


async def test_402_is_insufficient_funds_with_the_backends_available(
    script: Script, scripted: HttpLedger
) -> None:
    script.status, script.body = 402, wire.dumps({"code": "insufficient_funds", "available": 0.1})
    with pytest.raises(InsufficientLedgerFundsError) as caught:
        await scripted.reserve(RESERVE)
    error = caught.value
    assert (error.sub_account, error.currency, error.needed, error.available) == (
        "acme",
        "ETH",
        RESERVE.amount,
        Decimal("0.1"),
    )


async def test_402_without_figures_still_names_what_was_needed(
    script: Script, scripted: HttpLedger
) -> None:
    script.status, script.body = 402, b"no money"
    with pytest.raises(InsufficientLedgerFundsError) as caught:
        await scripted.reserve(RESERVE)
    assert caught.value.available is None and "0.123456789012345678" in str(caught.value)


def released_entry(key: str, state: str = "RELEASED") -> bytes:
    return wire.dumps({"key": key, "amount": 0, "state": state, "updatedAt": "2025-01-01T00:00Z"})


@pytest.mark.parametrize(
    "body",
    [b"not json", b"{}", released_entry("someone-else"), released_entry("p-1", "RESERVED")],
    ids=["garbage", "incomplete", "other-key", "wrong-state"],
)
async def test_a_success_we_cannot_trust_is_a_permanent_error(
    script: Script, scripted: HttpLedger, body: bytes
) -> None:
    script.status, script.body = 200, body
    with pytest.raises(LedgerError) as caught:
        await scripted.release(ReleaseRequest(key="p-1"))
    assert type(caught.value) is LedgerError and not caught.value.retryable


async def test_a_refused_connection_is_retryable() -> None:
    with refusing_url() as url:
        ledger = HttpLedger(url, "s3cret")
        with pytest.raises(LedgerUnavailableError):
            await ledger.reserve(RESERVE)
        await ledger.close()


async def test_a_timeout_is_retryable(script: Script, scripted: HttpLedger) -> None:
    script.hang = asyncio.Event()
    slow = HttpLedger(scripted.base_url, "s3cret", timeout=0.2)
    with pytest.raises(LedgerUnavailableError, match="Timeout"):
        await slow.settle(SettleRequest(key="p-1", paid_amount=Decimal(1)))
    await slow.close()


async def test_a_shared_client_is_left_open(script: Script, scripted: HttpLedger) -> None:
    script.body = released_entry("p-1")
    async with httpx.AsyncClient(timeout=30.0) as client:  # as `scripted`, not httpx's 5 s
        ledger = HttpLedger(scripted.base_url, "s3cret", client)
        entry = await ledger.release(ReleaseRequest(key="p-1"))
        await ledger.close()
        assert entry.sub_account is None  # a tombstone may omit null fields
        assert not client.is_closed
    assert "s3cret" not in repr(ledger)
