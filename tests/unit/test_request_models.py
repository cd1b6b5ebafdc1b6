"""The public requests and the saga inputs that extend them: the checks the API runs once, the
input built from a request, and the request fingerprint that running sagas keep in their memo."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from starter.api import (
    InvalidMassListError,
    InvalidPayoutError,
    MassPayoutRequest,
    PayoutRequest,
    Recipients,
    ResendPolicy,
    checked,
)
from starter.api.idempotent_start import fingerprint
from starter.api.requests import saga_input
from starter.service.settings import Settings
from workflows.mass_models import MassPayoutInput
from workflows.payout_models import PayoutInput

TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
KEY = uuid.UUID("6f1d5d8e-6a43-4b7e-9d0e-3f0a2c1b9e57")
MASS_KEY = uuid.UUID("0b9e8f2a-3c4d-4e5f-8a6b-7c8d9e0f1a2b")

# Computed with the code before the request models moved (PayoutInput rebuilt from a separate
# PayoutRequest's model_dump): sagas started then carry these values in their memo, so the same
# payout must keep hashing to them or a retry would be refused as a reused key.
SINGLE_FINGERPRINT = "686c0b192aef9409592fba98b3afa7a3ea76b721bafe4596f83d7666e499d72d"
MASS_FINGERPRINT = "9d3911321058ade0af505f088edc1f88547f6b421b920d8bfaa8c96a67d8845e"

# Every field name recorded histories carry: an input must keep loading from them.
PAYOUT_INPUT_FIELDS = {
    "comment", "external_id", "execution_date", "ledger_account", "resend", "funds_wait_seconds",
    "poll_interval_seconds", "notify_merchant", "confirmation_wait_seconds", "idempotency_key",
    "deposit_address", "amount", "currency", "max_fee", "requested_by",
}  # fmt: skip
MASS_INPUT_FIELDS = {
    "comment", "external_id", "execution_date", "ledger_account", "resend", "funds_wait_seconds",
    "poll_interval_seconds", "notify_merchant", "confirmation_wait_seconds", "idempotency_key",
    "currency", "recipients", "name", "items_per_deal", "max_parallel_deals", "deals_per_run",
    "resume", "requested_by",
}  # fmt: skip


def payout(**overrides: Any) -> PayoutRequest:
    fields: dict[str, Any] = {
        "deposit_address": TRON,
        "amount": Decimal("25.50"),
        "currency": "USDT_TRX",
        "idempotency_key": KEY,
        "comment": "May salary",
        "external_id": "invoice-2291",
        "execution_date": datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=2))),
        "max_fee": Decimal("1.5"),
        "ledger_account": "merchant-7",
        "resend": ResendPolicy(max_resends=2, delay_seconds=60),
        "funds_wait_seconds": 600,
    }
    return PayoutRequest(**(fields | overrides))


def recipients() -> Recipients:
    return Recipients(
        addresses=[TRON, "0x" + "ab" * 20],
        amounts=[Decimal("12.50"), Decimal("0.000001")],
        comments=["May salary; team A", None],
        references=["emp-17", None],
    )


def mass(**overrides: Any) -> MassPayoutRequest:
    fields: dict[str, Any] = {
        "currency": "USDT_TRX",
        "recipients": recipients(),
        "name": "May payroll",
        "comment": "payroll",
        "idempotency_key": MASS_KEY,
        "external_id": "batch-5",
        "execution_date": datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        "items_per_deal": 100,
        "max_parallel_deals": 4,
        "deals_per_run": 50,
        "ledger_account": "payroll",
        "resend": ResendPolicy(max_resends=1, delay_seconds=120),
        "funds_wait_seconds": 7200,
    }
    return MassPayoutRequest(**(fields | overrides))


SETTINGS = [
    Settings(),
    Settings(poll_interval_seconds=1.0, callback_url="https://m.example", callback_secret="s"),
]


# --- the fingerprint ------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", SETTINGS, ids=["defaults", "other-knobs"])
def test_fingerprints_keep_the_values_running_sagas_carry(settings: Settings) -> None:
    """The knobs (poll interval, callbacks) are not part of what makes two payouts the same.
    (Not `checked`: the requests' fixed execution date, part of the fingerprint, has passed.)"""
    single = saga_input(PayoutInput, payout(), settings)
    assert fingerprint(single) == SINGLE_FINGERPRINT
    many = saga_input(MassPayoutInput, mass(), settings)
    assert fingerprint(many) == MASS_FINGERPRINT


def test_the_requester_is_not_part_of_the_fingerprint() -> None:
    """The same payout asked for by another person is still the same payout."""
    alice = saga_input(PayoutInput, payout(requested_by="alice"), Settings())
    assert fingerprint(alice) == fingerprint(saga_input(PayoutInput, payout(), Settings()))


def test_any_field_of_the_request_changes_the_fingerprint() -> None:
    single = fingerprint(saga_input(PayoutInput, payout(), Settings()))
    for change in ({"amount": Decimal("25.51")}, {"ledger_account": "x"}, {"comment": None}):
        assert fingerprint(saga_input(PayoutInput, payout(**change), Settings())) != single
    many = fingerprint(saga_input(MassPayoutInput, mass(), Settings()))
    assert fingerprint(saga_input(MassPayoutInput, mass(name="June"), Settings())) != many


# --- the hierarchy --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_type", "input_type", "names"),
    [
        (PayoutRequest, PayoutInput, PAYOUT_INPUT_FIELDS),
        (MassPayoutRequest, MassPayoutInput, MASS_INPUT_FIELDS),
    ],
)
def test_an_input_extends_its_request_and_keeps_every_constraint(
    request_type: type[BaseModel], input_type: type[BaseModel], names: set[str]
) -> None:
    assert issubclass(input_type, request_type)
    assert set(input_type.model_fields) == names
    for name, field in request_type.model_fields.items():
        assert input_type.model_fields[name].metadata == field.metadata, name
    assert input_type.model_fields["idempotency_key"].is_required()
    assert not request_type.model_fields["idempotency_key"].is_required()


@pytest.mark.parametrize("request_type", [PayoutRequest, MassPayoutRequest])
def test_funds_wait_must_not_be_negative(request_type: type[BaseModel]) -> None:
    build = payout if request_type is PayoutRequest else mass
    with pytest.raises(ValidationError, match="funds_wait_seconds"):
        build(funds_wait_seconds=-1)


def test_the_input_carries_the_request_its_key_and_the_knobs() -> None:
    request = payout(idempotency_key=None)
    first = saga_input(PayoutInput, request, SETTINGS[1])
    assert first.poll_interval_seconds == 1.0 and first.notify_merchant
    assert first.model_dump(include=set(PayoutRequest.model_fields) - {"idempotency_key"}) == (
        request.model_dump(exclude={"idempotency_key"})
    )
    assert saga_input(PayoutInput, request, Settings()).idempotency_key != first.idempotency_key
    many = mass()
    assert saga_input(MassPayoutInput, many, Settings()).recipients is many.recipients  # no copy


def test_an_input_loads_even_when_invalid_the_workflow_checks_it_itself() -> None:
    loaded = PayoutInput.model_validate(
        payout(amount=Decimal(0)).model_dump() | {"idempotency_key": str(KEY)}
    )
    assert [problem.field for problem in loaded.problems()] == ["amount"]


# --- the checks -----------------------------------------------------------------------------------


def test_a_bad_payout_lists_every_problem() -> None:
    bad = payout(
        deposit_address="0xnot-a-tron-address",
        amount=Decimal("1.1234567"),
        execution_date=datetime(2030, 1, 1, 9, 0),  # naive
        max_fee=Decimal("-1"),
        ledger_account="  ",
    )
    with pytest.raises(InvalidPayoutError) as refused:
        checked(bad)
    fields = [problem.field for problem in refused.value.problems]
    assert fields == ["address", "amount", "execution_date", "max_fee", "ledger_account"]
    assert "\n" not in str(refused.value) and "6 decimals" in str(refused.value)


def test_a_mass_payout_with_a_naive_date_is_refused_as_a_list_error() -> None:
    with pytest.raises(InvalidMassListError) as refused:
        checked(mass(execution_date=datetime(2030, 1, 1, 9, 0)))
    assert [str(error) for error in refused.value.errors] == [
        "execution_date: must include a timezone, e.g. 2026-12-01T09:00Z"
    ]


def test_a_request_is_checked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI checks before it connects; `start` does not check the same request again."""
    calls: list[PayoutRequest] = []
    original = PayoutRequest.problems

    def counted(self: PayoutRequest) -> list[Any]:
        calls.append(self)
        return original(self)

    monkeypatch.setattr(PayoutRequest, "problems", counted)
    request = payout(execution_date=None)  # the fixture's fixed date has passed
    assert checked(checked(request)) is request
    assert calls == [request]
    assert checked(payout(execution_date=None)) is not request and len(calls) == 2  # another
