"""What `payouts schedule create` and `update` read from their options: the timing and the payout,
every problem collected (each naming its option's field) before anything connects."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from calypso.currencies import parse_amount
from starter.api.mass import recipients_from_parsed
from starter.api.mass_csv import parse_mass_csv
from starter.api.schedule_action import ScheduledRequest
from starter.api.schedule_timing import ScheduleTiming, parse_duration
from starter.cli.common import CliError
from workflows.mass_models import MassPayoutRequest
from workflows.payout_models import PayoutRequest

SHOWN_PROBLEMS = 50  # as `payouts mass`: the first rows show what is wrong, a count the rest


@dataclass
class Problems:
    """Every problem found in the options, reported at once as one line."""

    found: list[str] = field(default_factory=list)

    def add(self, name: str, reason: str) -> None:
        self.found.append(f"{name}: {reason}")

    def parsed(self, name: str, parse: Any, text: str | None) -> Any:
        """`parse(text)`, or None (and a problem) when it raises ValueError."""
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError as exc:
            self.add(name, str(exc))
            return None

    def raise_if_any(self) -> None:
        if self.found:
            raise CliError("; ".join(self.found))


def moment(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 date, e.g. 2027-01-01T09:00Z") from None


def duration(text: str) -> timedelta:
    return parse_duration(text)


def amount(text: str) -> Decimal:
    return parse_amount(text)


def timing_of(
    problems: Problems,
    base: ScheduleTiming | None,
    *,
    cron: str | None,
    every: str | None,
    timezone: str | None,
    start: str | None,
    end: str | None,
    catchup_window: str | None,
) -> ScheduleTiming | None:
    """The timing the options give, over `base` (update) or the defaults (create); None when an
    option did not parse (its problem is recorded)."""
    before = len(problems.found)
    if cron is not None and every is not None:
        problems.add("cron", "give either --cron or --every, not both")
    fields: dict[str, Any] = dict(base) if base is not None else {}
    if cron is not None:
        fields.update(cron=cron, every=None)
    if every is not None:
        fields.update(every=problems.parsed("every", duration, every), cron=None)
    if timezone is not None:
        fields["timezone"] = timezone
    for name, text in (("start", start), ("end", end)):
        if text is not None:
            fields[name] = problems.parsed(name, moment, text)
    if catchup_window is not None:
        fields["catchup_window"] = problems.parsed("catchup_window", duration, catchup_window)
    if len(problems.found) > before:
        return None
    timing = ScheduleTiming(**{name: value for name, value in fields.items() if value is not None})
    problems.found += [str(problem) for problem in timing.problems()]
    return timing


def single_request(problems: Problems, fields: dict[str, Any]) -> PayoutRequest | None:
    """A payout request from `fields` (address, amount, currency, …); None if one is missing."""
    missing = [
        name for name in ("deposit_address", "amount", "currency") if fields.get(name) is None
    ]
    for name in missing:
        option = {"deposit_address": "to"}.get(name, name)
        problems.add(option, f"required for a single payout (--{option}), or give --csv")
    if missing:
        return None
    return PayoutRequest(**{name: value for name, value in fields.items() if value is not None})


def mass_request(
    problems: Problems,
    csv_file: Path,
    *,
    currency: str | None,
    name: str | None,
    comment: str | None,
    ledger_account: str | None,
    allow_duplicates: bool,
) -> MassPayoutRequest | None:
    """The CSV read and checked row by row as `payouts mass` does: every bad row goes to
    stderr, then one line; None when currency or name is missing (recorded)."""
    if currency is None:
        problems.add("currency", "required with --csv")
    if name is None:
        problems.add("name", "required with --csv")
    if currency is None or name is None:
        return None
    try:
        data = csv_file.read_bytes()
    except OSError as exc:
        raise CliError(f"csv: cannot read {csv_file}: {exc.strerror}") from None
    parsed = parse_mass_csv(data, currency=currency.upper(), allow_duplicates=allow_duplicates)
    if not parsed.ok:
        shown = [str(error) for error in parsed.errors]
        if len(shown) > SHOWN_PROBLEMS:
            shown = [*shown[:SHOWN_PROBLEMS], f"… and {len(shown) - SHOWN_PROBLEMS} more"]
        for problem in shown:
            print(f"  {problem}", file=sys.stderr)
        raise CliError(f"csv: {len(parsed.errors)} problem(s) in {csv_file}; nothing was saved")
    return MassPayoutRequest(
        currency=currency.upper(),
        recipients=recipients_from_parsed(parsed),
        name=name,
        comment=comment,
        ledger_account=ledger_account or "default",
    )


def request_of(
    problems: Problems,
    base: dict[str, Any] | None,
    *,
    to: str | None,
    amount_text: str | None,
    currency: str | None,
    csv_file: Path | None,
    name: str | None,
    comment: str | None,
    max_fee: str | None,
    ledger_account: str | None,
    allow_duplicates: bool,
) -> ScheduledRequest | None:
    if csv_file is not None:
        conflicts = [("to", to), ("amount", amount_text), ("max_fee", max_fee)]
        for option in [option for option, value in conflicts if value is not None]:
            problems.add(option, "not with --csv (the CSV has every recipient)")
        if any(value is not None for _, value in conflicts):
            return None
        return mass_request(
            problems, csv_file, currency=currency, name=name, comment=comment,
            ledger_account=ledger_account, allow_duplicates=allow_duplicates,
        )  # fmt: skip
    if name is not None:
        problems.add("name", "only with --csv (a mass payout)")
    fields: dict[str, Any] = dict(base or {})
    given = {
        "deposit_address": to,
        "amount": problems.parsed("amount", amount, amount_text),
        "currency": currency.upper() if currency else None,
        "comment": comment,
        "max_fee": problems.parsed("max_fee", amount, max_fee),
        "ledger_account": ledger_account,
    }
    fields.update({field: value for field, value in given.items() if value is not None})
    return single_request(problems, fields)
