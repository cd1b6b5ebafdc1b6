"""Payout schedules without Temporal: the occurrence key, the timing checks, and the checks of the
request a schedule pays at every occurrence."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from starter.api.schedule_timing import (
    ScheduleTiming,
    cron_problem,
    format_duration,
    parse_duration,
    schedule_id_problems,
)
from starter.api.schedules import request_problems
from workflows.mass_models import MassPayoutRequest, Recipients
from workflows.payout_models import PayoutInput, PayoutRequest, SagaKnobs
from workflows.recurring import saga_input
from workflows.recurring_models import (
    RecurringPayoutInput,
    occurrence_key,
    occurrence_workflow_id,
    scheduled_second,
)

TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
MAY = datetime(2027, 5, 1, 7, 0, tzinfo=UTC)


def test_the_occurrence_key_is_uuid5_of_the_schedule_and_its_scheduled_second() -> None:
    key = occurrence_key("rent", MAY)
    assert key.version == 5
    # Pinned: every key an existing schedule derived depends on the namespace and the format.
    assert key == uuid.uuid5(
        uuid.UUID("0b6f4d2e-8f5a-4c1d-9a7e-52c3e1f0d8b4"), "rent/2027-05-01T07:00:00+00:00"
    )
    berlin = MAY.astimezone(timezone(timedelta(hours=2)))  # the same moment, another zone
    assert occurrence_key("rent", berlin) == key
    assert occurrence_key("rent", MAY + timedelta(microseconds=898530)) == key  # a trigger
    assert occurrence_key("rent", MAY + timedelta(seconds=1)) != key
    assert occurrence_key("rent-2", MAY) != key


def test_a_scheduled_time_needs_a_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        scheduled_second(datetime(2027, 5, 1))
    assert occurrence_workflow_id("rent") == "recurring-payout-rent"


def test_the_saga_input_is_the_request_with_the_knobs_and_the_derived_key() -> None:
    request = PayoutRequest(
        deposit_address=TRON, amount=Decimal("12.5"), currency="USDT_TRX", requested_by="alice"
    )
    occurrence = RecurringPayoutInput(
        schedule_id="rent", payout=request, knobs=SagaKnobs(poll_interval_seconds=7)
    )
    built = saga_input(occurrence, occurrence_key("rent", MAY))
    assert isinstance(built, PayoutInput)
    assert built.idempotency_key == occurrence_key("rent", MAY)
    assert (built.amount, built.poll_interval_seconds) == (Decimal("12.5"), 7)
    assert built.requested_by == "alice"


def test_an_occurrence_input_pays_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        RecurringPayoutInput(schedule_id="rent")


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("0 9 1 * *", None),
        ("*/15 8-18 * JAN-MAR MON-FRI", None),
        ("0 9 1,15 * 1-5/2", None),
        ("@monthly", None),
        ("0 9 1 *", "5 fields"),
        ("0 9 32 * *", "day of month"),
        ("60 9 1 * *", "minute"),
        ("0 9 1 13 *", "month"),
        ("0 9 * * FUNDAY", "day of week"),
        ("0 18-8 * * *", "upwards"),
        ("*/0 * * * *", "step"),
        ("@sometimes", "5 fields"),
    ],
)
def test_cron_expressions(expression: str, names: str | None) -> None:
    problem = cron_problem(expression)
    if names is None:
        assert problem is None
    else:
        assert problem is not None and names in problem


def test_durations() -> None:
    assert parse_duration("1d12h") == timedelta(days=1, hours=12)
    assert parse_duration("2w") == timedelta(weeks=2)
    assert format_duration(timedelta(days=8, minutes=30)) == "1w1d30m"
    for bad in ("", "1x", "d", "1 d"):
        with pytest.raises(ValueError, match="duration"):
            parse_duration(bad)


def test_every_timing_problem_is_named_at_once() -> None:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    timing = ScheduleTiming(
        cron="0 9 1 * *",
        every=timedelta(seconds=30),
        timezone="Mars/Olympus",
        start=datetime(2027, 3, 1, tzinfo=UTC),
        end=datetime(2027, 2, 1, tzinfo=UTC),
        catchup_window=timedelta(seconds=5),
    )
    fields = [problem.field for problem in timing.problems(now=now)]
    assert fields == ["cron", "every", "timezone", "end", "catchup_window"]
    past_end = ScheduleTiming(every=timedelta(days=1), end=datetime(2026, 1, 1, tzinfo=UTC))
    assert [p.field for p in past_end.problems(now=now)] == ["end"]
    naive = ScheduleTiming(cron="@daily", start=datetime(2027, 1, 1))
    assert [p.field for p in naive.problems(now=now)] == ["start"]
    assert ScheduleTiming(cron="0 9 1 * *", timezone="Europe/Berlin").problems(now=now) == []


def test_schedule_ids() -> None:
    assert schedule_id_problems("rent-2027.v1_a") == []
    for bad in ("", "a b", "-rent", "a/b", "x" * 101):
        assert [p.field for p in schedule_id_problems(bad)] == ["id"]


def test_the_request_goes_through_the_payout_checks_and_keeps_no_key_or_date() -> None:
    request = PayoutRequest(
        deposit_address="nope",
        amount=Decimal(0),
        currency="USDT_TRX",
        idempotency_key=uuid.uuid4(),
        execution_date=datetime(2030, 1, 1, tzinfo=UTC),
    )
    fields = [problem.split(":")[0] for problem in request_problems(request)]
    assert fields == ["idempotency_key", "execution_date", "address", "amount"]
    good = PayoutRequest(deposit_address=TRON, amount=Decimal("1"), currency="USDT_TRX")
    assert request_problems(good) == []


def test_a_mass_request_goes_through_the_mass_checks() -> None:
    listed = Recipients(addresses=[TRON], amounts=[Decimal(1)], comments=[None], references=[None])
    request = MassPayoutRequest(
        currency="USDT_TRX", recipients=listed, execution_date=datetime(2020, 1, 1, tzinfo=UTC)
    )
    problems = request_problems(request)
    assert problems[0].startswith("execution_date: a recurring payout"), problems
