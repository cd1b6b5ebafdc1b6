"""Exact decimals on the wire and response models that accept both fee namings."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest
from pydantic import ValidationError

from calypso import wire
from calypso.models import Account, MassPayout, Page, Payout, WebhookEvent, Withdrawal
from calypso.requests import CreatePayoutRequest

KEY = UUID("5f0c3a52-8f0e-4c55-9b0c-6a1d2b3c4d5e")


def test_decimals_are_exact_json_numbers() -> None:
    body = wire.dumps({"a": Decimal("0.1"), "b": Decimal("0.123456789012345678"), "c": 7})
    assert body == b'{"a":0.1,"b":0.123456789012345678,"c":7}'
    assert wire.loads(body)["b"] == Decimal("0.123456789012345678")


def test_request_payload_keeps_amount_exact_and_camel_case() -> None:
    request = CreatePayoutRequest(
        deposit_address="0x" + "ab" * 20,
        amount=Decimal("1.000000000000000001"),
        currency="ETH",
        idempotency_key=KEY,
    )
    sent = wire.dumps(request.to_wire())
    assert b'"amount":1.000000000000000001' in sent
    assert b'"idempotencyKey":"5f0c3a52-8f0e-4c55-9b0c-6a1d2b3c4d5e"' in sent
    assert b"comment" not in sent  # unset optionals are not sent


def test_float_amounts_are_refused() -> None:
    with pytest.raises(ValidationError, match="never float"):
        CreatePayoutRequest(
            deposit_address="x",
            amount=0.1,
            currency="ETH",
            idempotency_key=KEY,
        )


@pytest.mark.parametrize(
    ("fee_field", "percent_field"),
    [("fee", "feePercentage"), ("calypsoFee", "calypsoFeePercentage")],
)
def test_payout_accepts_both_fee_namings(fee_field: str, percent_field: str) -> None:
    raw = wire.loads(
        b'{"id": 42, "state": "COMPLETED", "amount": 25.5, "%s": 0.1275, "%s": 0.5,'
        b' "somethingNew": {"x": 1}}' % (fee_field.encode(), percent_field.encode())
    )
    payout = Payout.model_validate(raw)
    assert payout.id == "42"
    assert payout.fee == Decimal("0.1275")
    assert payout.fee_percentage == Decimal("0.5")


@pytest.mark.parametrize("prefix", ["total", "totalCalypso"])
def test_mass_payout_accepts_both_fee_namings(prefix: str) -> None:
    raw = {"id": "9", "state": "PARTIAL", f"{prefix}Fee": Decimal("2"), f"{prefix}FeePercentage": 1}
    mass = MassPayout.model_validate(raw)
    assert (mass.total_fee, mass.total_fee_percentage) == (Decimal(2), Decimal(1))


def test_round_trip_through_the_wire_is_lossless() -> None:
    payout = Payout(id="1", state="FAILED", amount=Decimal("0.000000000000000001"))
    again = Payout.model_validate(wire.loads(wire.dumps(payout.to_wire())))
    assert again == payout


def test_page_of_withdrawals_and_errors() -> None:
    raw = wire.loads(
        b'{"result": [{"id": "7", "state": "FAILED", "calypsoFee": 0.01,'
        b' "withdrawalErrors": [{"id": "e1", "status": "NOT_ENOUGH_FUNDS",'
        b' "errorResolved": false, "errorMessage": "short"}]}],'
        b' "page": 1, "size": 100, "total": 1, "totalElements": 1}'
    )
    page = Page[Withdrawal].model_validate(raw)
    assert page.total_elements == 1
    assert page.result[0].withdrawal_errors[0].status == "NOT_ENOUGH_FUNDS"
    assert page.result[0].calypso_fee == Decimal("0.01")


def test_account_balance_lookup() -> None:
    account = Account.model_validate({"balances": [{"currency": "TRX", "amount": Decimal("5.5")}]})
    assert account.balance_of("TRX") == Decimal("5.5")
    assert account.balance_of("BTC") == 0


def test_webhook_event_accepts_numeric_parent_id() -> None:
    event = WebhookEvent.model_validate({"type": "PAYOUT_HASH_RECEIVED", "parentExternalId": 12})
    assert event.parent_external_id == "12"
