"""What the API refuses before anything starts, beyond the request models' own problems: amounts
in exponent notation (`parse_amount`) and an execution date that has passed (`checked`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from calypso.currencies import parse_amount
from starter.api import (
    InvalidMassListError,
    InvalidPayoutError,
    MassPayoutRequest,
    PayoutRequest,
    Recipients,
    checked,
    parse_mass_csv,
)
from starter.api.mass_rows import RowProblem

TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"


@pytest.mark.parametrize(
    ("text", "plain"), [("1e3", "1000"), ("1E+3", "1000"), ("2.5e-2", "0.025"), (" 1e0 ", "1")]
)
def test_exponent_notation_is_refused_with_the_amount_written_out(text: str, plain: str) -> None:
    with pytest.raises(ValueError, match="plain digits") as refused:
        parse_amount(text)
    assert f"e.g. {plain}" in str(refused.value)
    assert "E+" not in str(refused.value).split(":", 1)[1]


@pytest.mark.parametrize(("text", "amount"), [("12.50", "12.50"), (" 0.000001 ", "0.000001")])
def test_plain_amounts_stay_exactly_as_typed(text: str, amount: str) -> None:
    assert str(parse_amount(text)) == amount


def test_a_csv_amount_in_exponent_notation_is_a_row_problem() -> None:
    parsed = parse_mass_csv(f"{TRON},1e3\n".encode(), currency="USDT_TRX")
    assert [(problem.row, problem.reason.split(":")[0]) for problem in parsed.errors] == [
        (1, "amount")
    ]


def payout(when: datetime | None) -> PayoutRequest:
    return PayoutRequest(
        deposit_address=TRON, amount=Decimal("25.5"), currency="USDT_TRX", execution_date=when
    )


def mass(when: datetime | None) -> MassPayoutRequest:
    recipients = Recipients(
        addresses=[TRON], amounts=[Decimal("1")], comments=[None], references=[None]
    )
    return MassPayoutRequest(currency="USDT_TRX", recipients=recipients, execution_date=when)


def named_now(message: str) -> datetime:
    found = re.search(r"now is (\S+?)\)", message)
    assert found, message
    return datetime.fromisoformat(found.group(1))


def test_a_past_execution_date_is_refused_naming_the_current_time() -> None:
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with pytest.raises(InvalidPayoutError) as refused:
        checked(payout(yesterday))
    assert [problem.field for problem in refused.value.problems] == ["execution_date"]
    message = str(refused.value)
    assert "in the past" in message and yesterday.isoformat() in message
    assert abs(named_now(message) - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_mass_payout_with_a_past_date_is_refused_as_a_list_error() -> None:
    with pytest.raises(InvalidMassListError) as refused:
        checked(mass(datetime(2020, 1, 1, 9, 0, tzinfo=UTC)))
    (problem,) = refused.value.problems
    assert problem.row is None and problem.reason.startswith("execution_date: 2020-01-01")
    assert abs(named_now(problem.reason) - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "offset", [timedelta(seconds=-30), timedelta(0), timedelta(days=1)], ids=str
)
def test_now_a_few_seconds_ago_and_later_are_accepted(offset: timedelta) -> None:
    when = datetime.now(UTC) + offset
    assert checked(payout(when)).execution_date == when
    assert checked(mass(when)).execution_date == when


def test_a_naive_date_is_refused_once_for_its_missing_timezone() -> None:
    with pytest.raises(InvalidPayoutError) as refused:
        checked(payout(datetime(2020, 1, 1, 9, 0)))
    assert [str(problem) for problem in refused.value.problems] == [
        "execution_date: must include a timezone, e.g. 2026-12-01T09:00Z"
    ]


def test_an_invalid_list_keeps_every_problem_and_shows_a_few() -> None:
    errors = [RowProblem(row, "missing amount") for row in range(1, 1443)]
    error = InvalidMassListError(errors)
    assert error.problems == errors and error.errors == errors
    assert len(str(error).splitlines()) < 25 and "… and 1422 more" in str(error)
