"""The demo's recurring payout: a monthly rent on a Temporal Schedule. The demo runs last
month's occurrence twice (a backfill, then the same backfill again, as a retried or doubled
firing would) and shows that the month is paid once: one key, one saga, one payment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from starter.api.payouts import PayoutRequest, Payouts
from starter.api.schedule_timing import ScheduleTiming
from starter.api.schedule_views import ScheduleView
from starter.api.schedules import PayoutSchedules
from starter.cli.output import console
from starter.cli.schedule_output import print_schedule
from starter.local.demo_mass import expect
from starter.local.local_stack import LocalStack
from starter.service.settings import Settings
from workflows.payout_models import SagaState

SCHEDULE_ID = "demo-rent"
MONTHLY = ScheduleTiming(cron="0 9 1 * *", timezone="Europe/Berlin")


async def run_recurring_demo(
    stack: LocalStack, payouts: Payouts, settings: Settings, request: PayoutRequest
) -> ScheduleView:
    schedules = PayoutSchedules(payouts.client, settings)
    rent = request.model_copy(
        update={"idempotency_key": None, "comment": "demo: monthly rent", "requested_by": "alice"}
    )
    await schedules.create(SCHEDULE_ID, MONTHLY, rent)
    # Last month's occurrence, fired twice (a backfill run again): one saga, one payment.
    last_month = _last_first_of_month()
    for _ in range(2):
        await schedules.backfill(
            SCHEDULE_ID, last_month - timedelta(hours=1), last_month + timedelta(hours=1)
        )
    view = await _when_ended(schedules, 2)
    console.rule("5. a recurring payout on a Temporal Schedule (monthly rent)")
    print_schedule(view)
    keys = {occurrence.key for occurrence in view.occurrences}
    expect(len(keys) == 1, f"one key for one month, got {len(keys)}")
    expect(
        sorted(o.started_saga is True for o in view.occurrences) == [False, True],
        "the second firing of the month found the saga already started",
    )
    expect(
        all(o.saga_state == SagaState.COMPLETED for o in view.occurrences),
        "the month's payout completed",
    )
    namespace = settings.temporal_namespace
    console.print(f"Temporal UI: {stack.ui_url}/namespaces/{namespace}/schedules/{SCHEDULE_ID}\n")
    await schedules.pause(SCHEDULE_ID, "demo over")
    return view


def _last_first_of_month() -> datetime:
    """The latest 1st of a month at 09:00 Berlin that has passed, in UTC."""
    berlin = ZoneInfo("Europe/Berlin")
    now = datetime.now(berlin)
    due = datetime(now.year, now.month, 1, 9, tzinfo=berlin)
    if due > now - timedelta(minutes=5):
        month = now.month - 1 or 12
        due = datetime(now.year - (now.month == 1), month, 1, 9, tzinfo=berlin)
    return due.astimezone(UTC)


async def _when_ended(schedules: PayoutSchedules, count: int) -> ScheduleView:
    while True:
        view = await schedules.describe(SCHEDULE_ID)
        ended = [o for o in view.occurrences if o.started_saga is not None and o.saga_state]
        if len(view.occurrences) >= count and len(ended) >= count:
            return view
        await asyncio.sleep(0.2)
