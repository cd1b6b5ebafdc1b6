"""`payouts schedule …` without Temporal: --help for every verb, and bad input refused with one
line naming the field (exit 2) before anything connects — TEMPORAL_ADDRESS points at a closed
port, so a verb that connected first would say "cannot reach Temporal" instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starter.cli.main import app
from tests.unit.test_cli import TRON, Case, _run, assert_refused_in_one_line, run_batch

VERBS = [
    "create",
    "update",
    "list",
    "describe",
    "pause",
    "unpause",
    "trigger",
    "backfill",
    "delete",
]
SINGLE = ["--to", TRON, "--amount", "12.5", "--currency", "USDT_TRX"]
CREATE = ["schedule", "create", "--id", "rent", "--cron", "0 9 1 * *", *SINGLE]
BAD_CSV = Path(__file__).parent / "data" / "schedule_bad_rows.csv"

CASES = [
    Case("no-timing", ["schedule", "create", "--id", "rent", *SINGLE], "cron"),
    Case("both-timings", [*CREATE, "--every", "1d"], "cron"),
    Case("bad-cron", [*CREATE[:5], "0 9 1 * * *", *SINGLE], "cron"),
    Case("bad-every", ["schedule", "create", "--id", "r", "--every", "soon", *SINGLE], "every"),
    Case("short-every", ["schedule", "create", "--id", "r", "--every", "10s", *SINGLE], "every"),
    Case("bad-timezone", [*CREATE, "--timezone", "Mars/Olympus"], "timezone"),
    Case("naive-start", [*CREATE, "--start", "2027-01-01T09:00"], "start"),
    Case("bad-end", [*CREATE, "--end", "someday"], "end"),
    Case("past-end", [*CREATE, "--end", "2020-01-01T00:00Z"], "end"),
    Case("bad-catchup", [*CREATE, "--catchup-window", "5s"], "catchup_window"),
    Case("bad-id", ["schedule", "create", "--id", "a b", *CREATE[4:]], "id"),
    Case("bad-address", [*CREATE[:6], "--to", "nope", *SINGLE[2:]], "address"),
    Case("bad-amount", [*CREATE[:8], "--amount", "ten", "--currency", "USDT_TRX"], "amount"),
    Case("zero-amount", [*CREATE[:8], "--amount", "0", "--currency", "USDT_TRX"], "amount"),
    Case("no-recipient", ["schedule", "create", "--id", "r", "--cron", "@daily"], "to"),
    Case("bad-currency", [*CREATE[:10], "--currency", "EUR"], "currency"),
    Case(
        "csv-without-name", [*CREATE[:6], "--csv", str(BAD_CSV), "--currency", "USDT_TRX"], "name"
    ),
    Case("csv-with-to", [*CREATE, "--csv", str(BAD_CSV), "--name", "n"], "to"),
    Case("bad-overlap", [*CREATE, "--overlap", "sometimes"], "overlap"),
    Case("update-bad-every", ["schedule", "update", "rent", "--every", "10s"], "every"),
    Case("update-bad-amount", ["schedule", "update", "rent", "--amount", "1e3"], "amount"),
    Case(
        "backfill-bad-start", ["schedule", "backfill", "r", "--start", "x", "--end", "y"], "start"
    ),
]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess[str]]:
    return dict(zip((case.id for case in CASES), run_batch(CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_line_naming_the_field(
    case: Case, outcomes: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    assert_refused_in_one_line(case, outcomes[case.id])


def test_a_csv_with_bad_rows_lists_every_row_and_saves_nothing() -> None:
    csv = ["--csv", str(BAD_CSV), "--currency", "USDT_TRX", "--name", "n"]
    done = _run(Case("csv", [*CREATE[:6], *csv], ""))
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert "cannot reach Temporal" not in done.stderr
    assert any("row 2" in line and "amount" in line for line in lines), lines
    assert any("row 4" in line and "address" in line for line in lines), lines
    assert lines[-1].startswith("payouts: csv: 2 problem(s)") and "nothing was saved" in lines[-1]


@pytest.mark.parametrize("verb", [None, *VERBS])
def test_help_works_for_every_verb(verb: str | None) -> None:
    args = ["schedule", "--help"] if verb is None else ["schedule", verb, "--help"]
    result = CliRunner().invoke(app, args, env={"PAYOUTS_POLL_INTERVAL": "soon"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    if verb in ("create", "update"):
        for option in ("--cron", "--every", "--timezone", "--csv", "--overlap", "--json"):
            assert option in result.output
    elif verb is None:
        for listed in VERBS:
            assert f"  {listed} " in result.output
