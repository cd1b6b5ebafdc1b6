"""`payouts schedule …`: recurring payouts on Temporal Schedules (docs/schedules.md).

Every verb checks its options before connecting and says what is wrong in one line naming the
field; `--json` prints one document. Exit codes: 0 done, 1 operational failure (Temporal
unreachable, no such schedule), 2 bad input (nothing was created or changed).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from starter.api import Payouts
from starter.api.schedule_timing import ScheduleTiming, schedule_id_problems
from starter.api.schedule_views import (
    InvalidScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleView,
)
from starter.api.schedules import PayoutSchedules, ScheduledRequest, request_problems
from starter.cli.common import CliError, JsonFlag, run_with_payouts
from starter.cli.exit_codes import OPERATIONAL_FAILURE
from starter.cli.output import console
from starter.cli.schedule_input import Problems, amount, moment, request_of, timing_of
from starter.cli.schedule_output import emit_schedule_json, print_schedule, print_schedule_list
from starter.service.settings import Settings
from workflows.recurring_models import Overlap

ResultT = TypeVar("ResultT")
# A valid timing under the options `update` is given, to check each of them before connecting.
ANY_TIMING = ScheduleTiming(cron="@daily")
schedule_app = typer.Typer(
    help="Recurring payouts on Temporal Schedules: each occurrence pays once (docs/schedules.md).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
IdArgument = Annotated[str, typer.Argument(help="The schedule's id.")]
Note = Annotated[str, typer.Option(help="Why; kept on the schedule (shown by describe).")]
# The options create and update share; update changes only those given.
Cron = Annotated[str | None, typer.Option(help="Cron (5 fields), e.g. '0 9 1 * *'; or @monthly.")]
Every = Annotated[str | None, typer.Option(help="Interval instead of cron: 30m, 12h, 1d, 2w.")]
Timezone = Annotated[str | None, typer.Option(help="IANA time zone of the cron (default UTC).")]
Start = Annotated[str | None, typer.Option(help="No occurrence before this ISO-8601 time.")]
End = Annotated[str | None, typer.Option(help="No occurrence after this ISO-8601 time.")]
To = Annotated[str | None, typer.Option(help="Recipient deposit address (single payout).")]
Amount = Annotated[str | None, typer.Option(help="Exact amount, e.g. 25.50 (single payout).")]
Currency = Annotated[str | None, typer.Option(help="Currency code, e.g. USDT_TRX.")]
Csv = Annotated[
    Path | None, typer.Option("--csv", help="Mass payout: recipients CSV, snapshotted now.")
]
Name = Annotated[str | None, typer.Option(help="Mass payout: its name at the provider.")]
Comment = Annotated[str | None, typer.Option(help="Comment shown at the provider.")]
MaxFee = Annotated[str | None, typer.Option(help="Single payout: reject a fee above this.")]
Ledger = Annotated[str | None, typer.Option(help="Ledger sub-account (default: default).")]
Catchup = Annotated[
    str | None, typer.Option(help="How late a missed occurrence still runs (default 1d).")
]
RequestedBy = Annotated[str | None, typer.Option(help="Who asks for these payouts.")]
OverlapOption = Annotated[
    Overlap | None,
    typer.Option(help="hold (default): wait while the previous payout holds money; allow."),
]
AmountText = Annotated[str | None, typer.Option("--amount", help="Exact amount (single).")]
Duplicates = Annotated[bool, typer.Option(help="Mass payout: accept an address twice.")]


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")


@schedule_app.command()
def create(
    schedule_id: Annotated[
        str, typer.Option("--id", help="The schedule's id (letters, digits, . _ -).")
    ],
    cron: Cron = None,
    every: Every = None,
    timezone: Timezone = None,
    start: Start = None,
    end: End = None,
    to: To = None,
    amount_text: AmountText = None,
    currency: Currency = None,
    csv_file: Csv = None,
    name: Name = None,
    comment: Comment = None,
    max_fee: MaxFee = None,
    ledger_account: Ledger = None,
    catchup_window: Catchup = None,
    requested_by: RequestedBy = None,
    overlap: OverlapOption = None,
    allow_duplicates: Duplicates = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a payout schedule: one payout (--to --amount --currency) or a mass payout (--csv
    --currency --name) at every occurrence of --cron or --every."""
    problems = Problems([str(problem) for problem in schedule_id_problems(schedule_id)])
    timing = timing_of(
        problems, None, cron=cron, every=every, timezone=timezone, start=start, end=end,
        catchup_window=catchup_window,
    )  # fmt: skip
    request = request_of(
        problems, None, to=to, amount_text=amount_text, currency=currency, csv_file=csv_file,
        name=name, comment=comment, max_fee=max_fee, ledger_account=ledger_account,
        allow_duplicates=allow_duplicates,
    )  # fmt: skip
    if request is not None:
        problems.found += request_problems(request)
    problems.raise_if_any()
    assert timing is not None and request is not None
    view = _run(
        lambda schedules: schedules.create(
            schedule_id, timing, request, overlap=overlap or Overlap.HOLD, requested_by=requested_by
        )
    )
    _show(view, as_json, f"created schedule {schedule_id}")


@schedule_app.command()
def update(
    schedule_id: IdArgument,
    cron: Cron = None,
    every: Every = None,
    timezone: Timezone = None,
    start: Start = None,
    end: End = None,
    to: To = None,
    amount_text: AmountText = None,
    currency: Currency = None,
    csv_file: Csv = None,
    name: Name = None,
    comment: Comment = None,
    max_fee: MaxFee = None,
    ledger_account: Ledger = None,
    catchup_window: Catchup = None,
    requested_by: RequestedBy = None,
    overlap: OverlapOption = None,
    allow_duplicates: Duplicates = False,
    as_json: JsonFlag = False,
) -> None:
    """Change a schedule: only the options given change; a new --csv is a new snapshot."""
    problems = Problems()
    given_timing = dict(
        cron=cron, every=every, timezone=timezone, start=start, end=end,
        catchup_window=catchup_window,
    )  # fmt: skip
    timing_of(problems, ANY_TIMING, **given_timing)  # each option alone, before connecting
    if max_fee is not None or amount_text is not None:
        problems.parsed("amount", amount, amount_text)
        problems.parsed("max_fee", amount, max_fee)
    problems.raise_if_any()
    csv_request: ScheduledRequest | None = None
    if csv_file is not None:  # read and check the list before connecting
        csv_request = request_of(
            problems, None, to=None, amount_text=None, currency=currency, csv_file=csv_file,
            name=name, comment=comment, max_fee=None, ledger_account=ledger_account,
            allow_duplicates=allow_duplicates,
        )  # fmt: skip
        problems.raise_if_any()

    async def change(schedules: PayoutSchedules) -> ScheduleView:
        current = await schedules.describe(schedule_id)
        timing = timing_of(problems, current.timing, **given_timing)
        new_request = csv_request
        single = (to, amount_text, currency, comment, max_fee, ledger_account)
        if csv_file is None and any(option is not None for option in single):
            if current.payout is None:
                problems.add("csv", "a mass payout schedule changes its payout with a new --csv")
            else:
                new_request = request_of(
                    problems, current.payout.model_dump(exclude={"idempotency_key"}), to=to,
                    amount_text=amount_text, currency=currency, csv_file=None, name=None,
                    comment=comment, max_fee=max_fee, ledger_account=ledger_account,
                    allow_duplicates=False,
                )  # fmt: skip
        if new_request is not None and csv_file is None:
            problems.found += request_problems(new_request)
        problems.raise_if_any()
        return await schedules.update(
            schedule_id, timing=timing, request=new_request, overlap=overlap,
            requested_by=requested_by,
        )  # fmt: skip

    _show(_run(change), as_json, f"updated schedule {schedule_id}")


@schedule_app.command(name="list")
def list_schedules(as_json: JsonFlag = False) -> None:
    """Every payout schedule: what it pays, when, and its next run."""
    views = _run(lambda schedules: schedules.list())
    if as_json:
        emit_schedule_json(views)
    else:
        print_schedule_list(views)


@schedule_app.command()
def describe(schedule_id: IdArgument, as_json: JsonFlag = False) -> None:
    """A schedule: what it pays, its next run times, and its recent occurrences with the key and
    state of the payout each started."""
    _show(_run(lambda schedules: schedules.describe(schedule_id)), as_json, None)


@schedule_app.command()
def pause(schedule_id: IdArgument, note: Note = "paused", as_json: JsonFlag = False) -> None:
    """Pause: no occurrence runs until unpaused (missed ones are not made up)."""
    _show(
        _after(schedule_id, lambda s: s.pause(schedule_id, note)), as_json, f"paused {schedule_id}"
    )


@schedule_app.command()
def unpause(schedule_id: IdArgument, note: Note = "unpaused", as_json: JsonFlag = False) -> None:
    """Unpause: occurrences run again from the next one due."""
    done = f"unpaused {schedule_id}"
    _show(_after(schedule_id, lambda s: s.unpause(schedule_id, note)), as_json, done)


@schedule_app.command()
def trigger(schedule_id: IdArgument, as_json: JsonFlag = False) -> None:
    """Run an occurrence now (under the schedule's overlap: with hold, after the running one)."""
    done = f"triggered {schedule_id}; `payouts schedule describe {schedule_id}` shows it"
    _show(_after(schedule_id, lambda s: s.trigger(schedule_id)), as_json, done)


@schedule_app.command()
def backfill(
    schedule_id: IdArgument,
    start: Annotated[str, typer.Option(help="From this ISO-8601 time (with a time zone).")],
    end: Annotated[str, typer.Option(help="Until this ISO-8601 time.")],
    as_json: JsonFlag = False,
) -> None:
    """Run every occurrence due between --start and --end now; one already paid pays nothing."""
    problems = Problems()
    since, until = problems.parsed("start", moment, start), problems.parsed("end", moment, end)
    problems.raise_if_any()
    done = f"backfilling {schedule_id} from {since} to {until}"
    _show(_after(schedule_id, lambda s: s.backfill(schedule_id, since, until)), as_json, done)


@schedule_app.command()
def delete(schedule_id: IdArgument, as_json: JsonFlag = False) -> None:
    """Delete a schedule; occurrences and payouts already running carry on."""

    async def remove(schedules: PayoutSchedules) -> ScheduleView:
        view = await schedules.describe(schedule_id)
        await schedules.delete(schedule_id)
        return view

    _show(_run(remove), as_json, f"deleted schedule {schedule_id}")


def _after(schedule_id: str, act: Callable[[PayoutSchedules], Awaitable[None]]) -> ScheduleView:
    """Do `act`, then describe the schedule as it is now."""

    async def go(schedules: PayoutSchedules) -> ScheduleView:
        await act(schedules)
        return await schedules.describe(schedule_id)

    return _run(go)


def _run(call: Callable[[PayoutSchedules], Awaitable[ResultT]]) -> ResultT:
    """`call` against Temporal; the API's errors become one-line `CliError`s."""
    settings = Settings.from_env()

    async def go(payouts: Payouts) -> ResultT:
        return await call(PayoutSchedules(payouts.client, settings))

    try:
        return run_with_payouts(go, settings=settings)
    except (InvalidScheduleError, ScheduleExistsError) as exc:
        raise CliError(str(exc)) from None
    except ScheduleNotFoundError as exc:
        raise CliError(str(exc), exit_code=OPERATIONAL_FAILURE) from None


def _show(view: ScheduleView, as_json: bool, done: str | None) -> None:
    if as_json:
        emit_schedule_json(view)
        return
    if done:
        console.print(done, highlight=False, soft_wrap=True)
    print_schedule(view)
