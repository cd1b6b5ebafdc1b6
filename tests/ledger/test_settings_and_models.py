"""Choosing the adapter from settings, NoLedger's synthetic entries, and request validation."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from activities.ledger import (
    DEFAULT_LEDGER_PATH,
    EntryState,
    HttpLedger,
    NoLedger,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SqliteLedger,
    ledger_from_settings,
)
from tests.ledger.conftest import LOOP


@pytest.mark.parametrize("kind", ["", "sqlite", " SQLite "])
def test_sqlite_is_the_default(kind: str) -> None:
    ledger = ledger_from_settings(kind)  # constructing touches no file
    assert isinstance(ledger, SqliteLedger) and ledger.path == Path(DEFAULT_LEDGER_PATH)


def test_sqlite_takes_the_configured_path(tmp_path: Path) -> None:
    ledger = ledger_from_settings("sqlite", path=str(tmp_path / "x.sqlite3"))
    assert isinstance(ledger, SqliteLedger) and ledger.path == tmp_path / "x.sqlite3"


@LOOP
async def test_http_and_none() -> None:
    http = ledger_from_settings("http", url="https://books.example/ledger/", secret="s")
    assert isinstance(http, HttpLedger) and http.base_url == "https://books.example/ledger"
    await http.close()
    assert isinstance(ledger_from_settings("none"), NoLedger)


@pytest.mark.parametrize(
    ("kind", "settings", "names"),
    [
        ("http", {"secret": "s"}, "PAYOUTS_LEDGER_URL"),
        ("http", {"url": " ", "secret": "s"}, "PAYOUTS_LEDGER_URL"),
        ("http", {"url": "ftp://x", "secret": "s"}, "PAYOUTS_LEDGER_URL"),
        ("http", {"url": "http://x"}, "PAYOUTS_LEDGER_SECRET"),
        ("postgres", {}, "PAYOUTS_LEDGER_DSN is required"),
        ("postgres", {"dsn": "no equals sign"}, "PAYOUTS_LEDGER_DSN is malformed"),
        ("mysql", {}, "PAYOUTS_LEDGER must be one of sqlite, postgres, http, none"),
    ],
)
def test_bad_settings_name_the_variable(kind: str, settings: dict[str, Any], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        ledger_from_settings(kind, **settings)


@LOOP
async def test_no_ledger_accepts_everything() -> None:
    ledger = NoLedger()
    request = ReserveRequest(key="k", sub_account="a", currency="BTC", amount=Decimal("1e9"))
    reserved = await ledger.reserve(request)
    assert (reserved.state, reserved.amount, reserved.sub_account) == (
        EntryState.RESERVED,
        Decimal("1e9"),
        "a",
    )
    settled = await ledger.settle(
        SettleRequest(key="never", paid_amount=Decimal(2), fee=Decimal(1))
    )
    assert (settled.state, settled.paid_amount, settled.fee) == (
        EntryState.SETTLED,
        Decimal(2),
        Decimal(1),
    )
    released = await ledger.release(ReleaseRequest(key="k", reason="FAILED"))
    assert (released.state, released.amount, released.reason) == (
        EntryState.RELEASED,
        Decimal(0),
        "FAILED",
    )
    await ledger.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"amount": 0.5},
        {"amount": Decimal(0)},
        {"amount": Decimal(-1)},
        {"amount": Decimal("NaN")},
        {"key": ""},
        {"sub_account": ""},
    ],
    ids=["float", "zero", "negative", "nan", "empty-key", "empty-sub-account"],
)
def test_reserve_requests_refuse_bad_input(fields: dict[str, Any]) -> None:
    valid: dict[str, Any] = {"key": "k", "sub_account": "a", "currency": "ETH", "amount": 1}
    with pytest.raises(ValidationError):
        ReserveRequest.model_validate(valid | fields)


@pytest.mark.parametrize("fields", [{"paid_amount": 1.0}, {"fee": Decimal("-0.1")}])
def test_settle_requests_refuse_bad_input(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SettleRequest.model_validate({"key": "k", "paid_amount": 1} | fields)
