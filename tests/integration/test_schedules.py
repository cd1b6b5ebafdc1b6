"""Recurring payouts on a real Temporal Schedule (the dev server: the time-skipping server runs no
schedules), a real worker and the sandbox. Past months are run by `backfill`, which starts each
occurrence with the month's nominal time in `TemporalScheduledStartTime` — exactly what a
schedule does when the month comes — so the scheduled-time → key derivation is what is tested.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from temporalio.api.common.v1 import Payload
from temporalio.api.sdk.v1.external_storage_pb2 import ExternalStorageReference
from temporalio.client import (
    Client,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.api import Payouts
from starter.api.mass import recipients_from_parsed
from starter.api.mass_csv import parse_mass_csv
from starter.api.schedule_timing import ScheduleTiming
from starter.api.schedule_views import InvalidScheduleError, ScheduleNotFoundError, ScheduleView
from starter.api.schedules import PayoutSchedules
from starter.service.payload_storage import data_converter
from starter.service.settings import Settings
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import TRON, Stack, api_requests, start_stack
from tests.integration.mass_support import tron
from workflows.mass_models import ItemState, MassPayoutRequest
from workflows.payout_models import PayoutRequest, SagaState
from workflows.recurring_models import Overlap, occurrence_key

BERLIN = ZoneInfo("Europe/Berlin")
REFERENCE = ExternalStorageReference.DESCRIPTOR.full_name.encode()  # the store's reference
MONTHLY = ScheduleTiming(cron="0 9 1 * *", timezone="Europe/Berlin")
DEADLINE = (
    120.0  # an occurrence and its saga take a few seconds idle; a loaded 2-core box is slower
)


@pytest_asyncio.fixture
async def schedule_stack(
    dev_server: WorkflowEnvironment, sandbox_server: SandboxHandle, sandbox: Control, tmp_path: Path
) -> AsyncIterator[Stack]:
    """The dev-server stack on a client (and worker) with the project's payload store."""
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        data_converter=data_converter(tmp_path / "payloads"),
    )
    async with start_stack(client, sandbox_server, sandbox, tmp_path) as stack:
        yield stack


@pytest_asyncio.fixture
async def schedules(schedule_stack: Stack) -> AsyncIterator[PayoutSchedules]:
    """The API on the stack's task queue; every schedule a test made is deleted after it."""
    settings = Settings(task_queue=schedule_stack.task_queue, poll_interval_seconds=1)
    api = PayoutSchedules(schedule_stack.client, settings)
    yield api
    for view in await api.list():
        if view.schedule_id.startswith(f"t-{schedule_stack.task_queue[-12:]}"):
            await api.delete(view.schedule_id)


def schedule_id(stack: Stack, name: str) -> str:
    return f"t-{stack.task_queue[-12:]}-{name}"


def rent(amount: str = "12.5") -> PayoutRequest:
    return PayoutRequest(deposit_address=TRON, amount=Decimal(amount), currency="USDT_TRX")


def last_months(count: int) -> list[datetime]:
    """The last `count` firsts of a month at 09:00 Berlin that have passed, oldest first, UTC."""
    now, found = datetime.now(BERLIN), list[datetime]()
    year, month = now.year, now.month
    while len(found) < count:
        due = datetime(year, month, 1, 9, tzinfo=BERLIN)
        if due < now - timedelta(minutes=5):
            found.append(due.astimezone(UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return sorted(found)


async def described_when(
    schedules: PayoutSchedules, sid: str, check: Callable[[ScheduleView], bool]
) -> ScheduleView:
    async def probe() -> ScheduleView | None:
        view = await schedules.describe(sid)
        return view if check(view) else None

    found: ScheduleView = await eventually(probe, deadline=DEADLINE, interval=0.5)
    return found


def all_ended(count: int, state: str = "COMPLETED") -> Callable[[ScheduleView], bool]:
    def check(view: ScheduleView) -> bool:
        ended = [o for o in view.occurrences if o.status == "COMPLETED" and o.saga_state == state]
        return len(view.occurrences) == count and len(ended) == count

    return check


async def backfill_months(schedules: PayoutSchedules, sid: str, months: list[datetime]) -> None:
    await schedules.backfill(sid, months[0] - timedelta(hours=1), months[-1] + timedelta(hours=1))


async def test_three_monthly_occurrences_each_pay_once_under_the_key_of_their_month(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    sid, months = schedule_id(schedule_stack, "monthly"), last_months(3)
    await schedules.create(sid, MONTHLY, rent())
    await backfill_months(schedules, sid, months)

    view = await described_when(schedules, sid, all_ended(3))
    ran = sorted(view.occurrences, key=lambda o: o.scheduled_time)
    assert [o.scheduled_time for o in ran] == months
    assert [o.key for o in ran] == [occurrence_key(sid, month) for month in months]
    assert all(o.saga_workflow_id == f"payout-{o.key}" and o.started_saga for o in ran)
    for occurrence in ran:  # the saga the workflow started is the one describe names
        paid = await schedule_stack.provider_payouts(idempotencyKey=str(occurrence.key))
        assert [p["state"] for p in paid] == ["COMPLETED"], paid
    assert view.next_runs and view.next_runs[0] > datetime.now(UTC)
    assert view.overlap is Overlap.HOLD and view.amount == Decimal("12.5")


async def test_an_occurrence_fired_twice_starts_one_saga_and_pays_once(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    sid, months = schedule_id(schedule_stack, "twice"), last_months(1)
    await schedules.create(sid, MONTHLY, rent())
    await backfill_months(schedules, sid, months)
    await backfill_months(schedules, sid, months)  # the same month, fired again

    view = await described_when(schedules, sid, all_ended(2))
    key = occurrence_key(sid, months[0])
    assert [o.key for o in view.occurrences] == [key, key]
    assert sorted(o.started_saga is True for o in view.occurrences) == [False, True]
    assert all(o.started_saga is not None for o in view.occurrences)
    assert len(await schedule_stack.provider_payouts(idempotencyKey=str(key))) == 1
    creates = await api_requests(schedule_stack.sandbox)
    assert [c["idempotencyKey"] for c in creates] == [str(key)]


async def test_trigger_runs_an_occurrence_now_keyed_by_its_second(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    sid = schedule_id(schedule_stack, "now")
    await schedules.create(sid, MONTHLY, rent("3"))
    before = datetime.now(UTC).replace(microsecond=0)
    await schedules.trigger(sid)

    view = await described_when(schedules, sid, all_ended(1))
    (occurrence,) = view.occurrences
    assert before <= occurrence.scheduled_time <= datetime.now(UTC)
    assert occurrence.key == occurrence_key(sid, occurrence.scheduled_time)
    assert occurrence.workflow_id.endswith(occurrence.scheduled_time.strftime("%Y-%m-%dT%H:%M:%SZ"))
    paid = await schedule_stack.provider_payouts(idempotencyKey=str(occurrence.key))
    assert [(p["state"], Decimal(str(p["amount"]))) for p in paid] == [("COMPLETED", Decimal(3))]


async def test_no_occurrence_runs_while_paused_and_the_paused_one_is_not_made_up(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    """Every 2 seconds stands for every month (set on the Temporal schedule itself: the API
    refuses intervals under a minute): the occurrences due while paused pay nothing, and
    unpausing does not make them up."""
    sid = schedule_id(schedule_stack, "paused")
    await schedules.create(sid, MONTHLY, rent("1"))
    await schedules.pause(sid, "holiday month")
    await schedule_stack.client.get_schedule_handle(sid).update(_every_two_seconds)
    await asyncio.sleep(5)  # two "months" pass while paused: absence needs the time to pass

    paused = await schedules.describe(sid)
    assert (paused.paused, paused.note, paused.actions, paused.occurrences) == (
        True, "holiday month", 0, []
    )  # fmt: skip
    unpaused_at = datetime.now(UTC).replace(microsecond=0)
    await schedules.unpause(sid, "back")
    view = await described_when(schedules, sid, all_ended(1))
    await schedules.pause(sid, "test over")  # no further "months"
    assert view.occurrences[-1].scheduled_time >= unpaused_at  # none made up
    assert not view.paused and view.note == "back"


async def _every_two_seconds(update: ScheduleUpdateInput) -> ScheduleUpdate:
    schedule = update.description.schedule
    schedule.spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=2))])
    return ScheduleUpdate(schedule=schedule)


async def test_a_mass_schedule_snapshots_the_csv_in_the_payload_store_and_pays_every_row(
    schedule_stack: Stack, schedules: PayoutSchedules, tmp_path: Path
) -> None:
    rows = "".join(f"{tron(n)};{n + 1}.5;row {n};ref-{n}\n" for n in range(5))
    parsed = parse_mass_csv(
        f"address;amount;comment;reference\n{rows}".encode(), currency="USDT_TRX"
    )
    request = MassPayoutRequest(
        currency="USDT_TRX", recipients=recipients_from_parsed(parsed), name="monthly bonus"
    )
    sid = schedule_id(schedule_stack, "mass")
    created = await schedules.create(sid, MONTHLY, request, overlap=Overlap.ALLOW)
    assert (created.kind, created.items, created.total) == ("mass", 5, Decimal("17.5"))
    assert created.snapshot_at is not None

    action = (await schedule_stack.client.get_schedule_handle(sid).describe()).schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    (argument,) = action.args
    assert isinstance(argument, Payload)  # kept as the store's reference, not the list:
    assert argument.metadata["messageType"] == REFERENCE, argument.metadata
    assert argument.ByteSize() < 1024, argument.ByteSize()
    assert tron(0).encode() not in argument.SerializeToString()
    assert list((tmp_path / "payloads").glob("*.payload"))

    await schedules.trigger(sid)
    view = await described_when(schedules, sid, all_ended(1))
    result = await Payouts(schedule_stack.client, Settings()).mass.result(view.occurrences[0].key)
    assert result.state == SagaState.COMPLETED, result.reason
    assert result.counts.get(ItemState.COMPLETED) == 5 and result.paid == Decimal("17.5")


async def test_overlap_hold_starts_no_second_saga_while_the_first_holds_money(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    stack = schedule_stack
    await stack.sandbox.post("/sandbox/balances", {"currency": "USDT_TRX", "amount": 0})
    sid = schedule_id(stack, "hold")
    await schedules.create(sid, MONTHLY, rent("7"))
    await schedules.trigger(sid)
    first = await described_when(
        schedules, sid, lambda v: [o.saga_state for o in v.occurrences] == ["WAITING_FOR_FUNDS"]
    )
    await asyncio.sleep(1.2)  # a trigger in the next second: another occurrence, another key
    await schedules.trigger(sid)
    await asyncio.sleep(5)

    held = await schedules.describe(sid)
    assert [o.key for o in held.occurrences] == [first.occurrences[0].key]  # buffered, not run
    assert held.occurrences[0].status == "RUNNING"
    assert await stack.provider_payouts() == []

    await stack.sandbox.post("/sandbox/balances", {"currency": "USDT_TRX", "amount": 1000})
    payouts = Payouts(stack.client, Settings(task_queue=stack.task_queue))
    await payouts.cancel(first.occurrences[0].key, "test: let the next month go")
    view = await described_when(
        schedules, sid, lambda v: len(v.occurrences) == 2 and v.occurrences[0].status == "COMPLETED"
    )
    second, first_again = view.occurrences
    assert (first_again.saga_state, second.saga_state) == ("CANCELED", "COMPLETED")
    assert second.key != first_again.key


async def test_bad_input_names_every_field_and_creates_nothing(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    bad = PayoutRequest(
        deposit_address="nope",
        amount=Decimal(0),
        currency="USDT_TRX",
        execution_date=datetime(2030, 1, 1, tzinfo=UTC),
    )
    timing = ScheduleTiming(cron="0 25 * *", timezone="Nowhere/City", every=timedelta(hours=1))
    with pytest.raises(InvalidScheduleError) as refused:
        await schedules.create("bad id", timing, bad)
    fields = [problem.split(":")[0] for problem in refused.value.problems]
    for field in ("id", "cron", "timezone", "address", "amount", "execution_date"):
        assert field in fields, refused.value.problems
    with pytest.raises(ScheduleNotFoundError):
        await schedules.describe("bad id")


async def test_list_shows_only_payout_schedules_and_update_changes_what_is_paid(
    schedule_stack: Stack, schedules: PayoutSchedules
) -> None:
    sid = schedule_id(schedule_stack, "listed")
    foreign = schedule_id(schedule_stack, "foreign")
    await schedules.create(sid, MONTHLY, rent("5"))
    await schedule_stack.client.create_schedule(foreign, _foreign_schedule(schedule_stack))
    try:

        async def listed() -> list[str]:
            mine = schedule_id(schedule_stack, "")
            return [v.schedule_id for v in await schedules.list() if v.schedule_id.startswith(mine)]

        assert await eventually(listed, deadline=DEADLINE, interval=0.5) == [sid]
        with pytest.raises(ScheduleNotFoundError, match="not a payout schedule"):
            await schedules.describe(foreign)
        updated = await schedules.update(
            sid, timing=ScheduleTiming(every=timedelta(days=7)), request=rent("6")
        )
        assert (updated.amount, updated.when, updated.timing.cron) == (Decimal(6), "every 1w", None)
        await schedules.trigger(sid)
        view = await described_when(schedules, sid, all_ended(1))
        paid = await schedule_stack.provider_payouts(idempotencyKey=str(view.occurrences[0].key))
        assert [Decimal(str(p["amount"])) for p in paid] == [Decimal(6)]
    finally:
        await schedule_stack.client.get_schedule_handle(foreign).delete()


def _foreign_schedule(stack: Stack) -> Any:
    from temporalio.client import Schedule, ScheduleSpec

    return Schedule(
        action=ScheduleActionStartWorkflow("Reconcile", id="foreign", task_queue=stack.task_queue),
        spec=ScheduleSpec(cron_expressions=["0 0 1 1 *"]),
    )
