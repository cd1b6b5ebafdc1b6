"""When a payout schedule fires: a cron expression or an interval, a time zone, an optional
window, and how late a missed occurrence may still run. Checked here, without the network, with
every problem named by its field; `ScheduleTiming.spec` is what Temporal is given.

Cron: five fields (minute hour day-of-month month day-of-week) with `*`, `a`, `a-b`, `/step` and
`,` lists, month and day names (`JAN`, `MON`), or one of `@yearly @monthly @weekly @daily
@hourly`. Intervals: `30m`, `12h`, `1d`, `2w`, combined as `1d12h`, at least a minute.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from temporalio.client import ScheduleIntervalSpec, ScheduleSpec

from calypso.currencies import FieldProblem

MINIMUM_INTERVAL = timedelta(minutes=1)
# A missed occurrence (Temporal down, the schedule paused is not one) still runs this late; later,
# it is skipped and counted. A day: yesterday's payout is still wanted, last month's is a decision.
DEFAULT_CATCHUP_WINDOW = timedelta(days=1)
MINIMUM_CATCHUP_WINDOW = timedelta(minutes=1)

_SCHEDULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_UNITS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"(\d+)([wdhms])")
_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
# (name, low, high, names counted from `low`)
_FIELDS: list[tuple[str, int, int, list[str]]] = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
]


def parse_duration(text: str) -> timedelta:
    """`30m`, `12h`, `1d`, `2w`, `1d12h`, `90s` → the duration; ValueError otherwise."""
    cleaned = text.strip().lower()
    parts = _DURATION_PART.findall(cleaned)
    if not cleaned or "".join(number + unit for number, unit in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration like 30m, 12h, 1d or 2w")
    return timedelta(seconds=sum(int(number) * _UNITS[unit] for number, unit in parts))


def format_duration(duration: timedelta) -> str:
    seconds, text = int(duration.total_seconds()), ""
    for unit, size in _UNITS.items():
        if seconds >= size:
            text += f"{seconds // size}{unit}"
            seconds %= size
    return text or "0s"


def schedule_id_problems(schedule_id: str) -> list[FieldProblem]:
    if _SCHEDULE_ID.fullmatch(schedule_id):
        return []
    return [
        FieldProblem(
            "id",
            f"{schedule_id!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit",
        )
    ]


def cron_problem(expression: str) -> str | None:
    """Why `expression` is not a cron expression this project accepts, or None."""
    text = expression.strip()
    if text.lower() in _MACROS:
        return None
    fields = text.split()
    if len(fields) != len(_FIELDS):
        return (
            f"{expression!r}: expected 5 fields (minute hour day-of-month month day-of-week) "
            f"or one of {' '.join(_MACROS)}, got {len(fields)} field(s)"
        )
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for item in value.split(","):
            problem = _cron_item_problem(item.upper(), low, high, names)
            if problem:
                return f"{expression!r}: {name} {item!r}: {problem}"
    return None


def _cron_item_problem(item: str, low: int, high: int, names: list[str]) -> str | None:
    span, _, step = item.partition("/")
    if step and (not step.isdigit() or int(step) < 1):
        return "the step after '/' must be a whole number of at least 1"
    if span == "*":
        return None
    bounds = span.split("-")
    if len(bounds) > 2 or not all(bounds):
        return "expected *, a number, a range a-b, or a list of them"
    values = [_cron_value(bound, low, names) for bound in bounds]
    if any(value is None or not low <= value <= high for value in values):
        return f"must be between {low} and {high}" + (" or a name" if names else "")
    first, last = values[0], values[-1]
    if first is not None and last is not None and first > last:
        return "a range must go upwards"
    return None


def _cron_value(text: str, low: int, names: list[str]) -> int | None:
    if text.isdigit():
        return int(text)
    return names.index(text) + low if text in names else None


class ScheduleTiming(BaseModel):
    """When a schedule fires. Exactly one of `cron` and `every`; `start` and `end` bound it
    (ISO-8601 with a time zone); `timezone` is the cron's (an IANA name)."""

    cron: str | None = None
    every: timedelta | None = None
    timezone: str = "UTC"
    start: datetime | None = None
    end: datetime | None = None
    catchup_window: timedelta = DEFAULT_CATCHUP_WINDOW

    def problems(self, *, now: datetime | None = None) -> list[FieldProblem]:
        """Every reason Temporal should not be given this timing (empty: none)."""
        problems: list[FieldProblem] = []
        if (self.cron is None) == (self.every is None):
            problems.append(FieldProblem("cron", "give either a cron expression or an interval"))
        if self.cron is not None and (reason := cron_problem(self.cron)):
            problems.append(FieldProblem("cron", reason))
        if self.every is not None and self.every < MINIMUM_INTERVAL:
            problems.append(FieldProblem("every", "must be at least a minute"))
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                FieldProblem("timezone", f"{self.timezone!r} is not an IANA time zone name")
            )
        for name, moment in (("start", self.start), ("end", self.end)):
            if moment is not None and moment.tzinfo is None:
                problems.append(FieldProblem(name, "needs a time zone, e.g. 2027-01-01T09:00Z"))
        problems += self._window_problems(now or datetime.now(UTC))
        if self.catchup_window < MINIMUM_CATCHUP_WINDOW:
            problems.append(FieldProblem("catchup_window", "must be at least a minute"))
        return problems

    def _window_problems(self, now: datetime) -> list[FieldProblem]:
        start, end = self.start, self.end
        if end is None or end.tzinfo is None:
            return []
        if start is not None and start.tzinfo is not None and end <= start:
            return [FieldProblem("end", "must be after start")]
        if end <= now:
            return [FieldProblem("end", f"{end.isoformat()} has passed: it would never run")]
        return []

    def spec(self) -> ScheduleSpec:
        return ScheduleSpec(
            cron_expressions=[self.cron.strip()] if self.cron else [],
            intervals=[ScheduleIntervalSpec(every=self.every)] if self.every else [],
            start_at=self.start,
            end_at=self.end,
            time_zone_name=self.timezone,
        )

    def describe(self) -> str:
        """One line, e.g. `cron 0 9 1 * * (Europe/Berlin)` or `every 1d`."""
        when = (
            f"cron {self.cron}"
            if self.cron
            else f"every {format_duration(self.every or MINIMUM_INTERVAL)}"
        )
        zone = f" ({self.timezone})" if self.cron else ""
        window = ""
        if self.start:
            window += f" from {self.start.isoformat()}"
        if self.end:
            window += f" until {self.end.isoformat()}"
        return when + zone + window
