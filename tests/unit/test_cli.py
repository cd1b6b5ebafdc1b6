"""The `payouts` CLI on bad input: exit 2 and one line on stderr naming the field, no Temporal.

Every case runs the real console-script entry in a fresh interpreter, with TEMPORAL_ADDRESS
pointing at a closed port: a verb that connects before it validates fails with "cannot reach
Temporal" (exit 1) instead, which is exactly the bug these tests catch. The bad-input cases share
one interpreter (`tests/unit/cli_batch.py`), one run after another, to keep the file fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starter.cli.exit_codes import BY_FINAL_STATE, of_state
from starter.cli.main import app
from starter.cli.output import ui_link
from starter.service.settings import Settings
from tests.ports import closed_port
from workflows.payout_models import FINAL_SAGA_STATES, SagaState

ROOT = Path(__file__).resolve().parents[2]
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
KEY = "6f1d5d8e-6a43-4b7e-9d0e-3f0a2c1b9e57"
PAY = ["pay", "--to", TRON, "--amount", "25.5", "--currency", "USDT_TRX"]
CSV = ROOT / "tests" / "unit" / "data" / "salaries_excel_semicolon_bom.csv"  # two valid rows
MASS = ["mass", "--csv", str(CSV), "--currency", "USDT_TRX", "--name", "May", "--yes"]
VERBS = [
    "pay",
    "status",
    "result",
    "cancel",
    "reschedule",
    "list",
    "worker",
    "webhooks",
    "setup",
    "dev",
    "demo",
    "sandbox",
]


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    names: str  # the field or variable the one-line reason must name
    env: dict[str, str] = field(default_factory=dict)
    must_not_echo: str | None = None  # a secret the message must not repeat


def _pay(**options: str) -> list[str]:
    args = dict(zip(PAY[1::2], PAY[2::2], strict=True))
    args.update({f"--{name.replace('_', '-')}": value for name, value in options.items()})
    return ["pay", *(part for pair in args.items() for part in pair)]


CASES = [
    # pay: each field
    Case("pay-amount-not-a-number", _pay(amount="abc"), "amount"),
    Case("pay-amount-too-many-decimals", _pay(amount="1.1234567"), "amount"),
    Case("pay-amount-negative", _pay(amount="-5"), "amount"),
    Case("pay-unknown-currency", _pay(currency="DOGECOIN"), "currency"),
    Case("pay-bad-address", _pay(to="not-an-address"), "address"),
    Case("pay-key-not-uuid", _pay(key="order-42"), "key"),
    Case("pay-naive-execution-date", _pay(execution_date="2026-12-01T09:00"), "execution_date"),
    Case("pay-execution-date-not-a-date", _pay(execution_date="tomorrow"), "execution_date"),
    Case("pay-max-fee-not-a-number", _pay(max_fee="cheap"), "max_fee"),
    Case("pay-max-fee-negative", _pay(max_fee="-1"), "max_fee"),
    Case("pay-resend-out-of-range", [*PAY, "--resend", "10"], "resend"),
    Case("pay-missing-amount", ["pay", "--to", TRON, "--currency", "USDT_TRX"], "amount"),
    Case("pay-amount-exponent", _pay(amount="1e3"), "plain digits, e.g. 1000"),
    Case("pay-max-fee-exponent", _pay(max_fee="1E-2"), "max_fee"),
    Case("pay-past-execution-date", _pay(execution_date="2020-01-01T09:00Z"), "now is"),
    # the other verbs
    Case("status-key-not-uuid", ["status", "order-42"], "key"),
    Case("cancel-key-not-uuid", ["cancel", "order-42"], "key"),
    Case(
        "reschedule-key-not-uuid",
        ["reschedule", "order-42", "--execution-date", "2026-12-01T09:00Z"],
        "key",
    ),
    Case(
        "reschedule-naive-date",
        ["reschedule", KEY, "--execution-date", "2026-12-01T09:00"],
        "execution_date",
    ),
    Case(
        "reschedule-not-a-date", ["reschedule", KEY, "--execution-date", "soon"], "execution_date"
    ),
    Case("list-limit-zero", ["list", "--limit", "0"], "limit"),
    Case("list-unknown-state", ["list", "--state", "frozen"], "state"),
    Case("list-unknown-kind", ["list", "--kind", "deal"], "kind"),
    Case("list-unknown-currency", ["list", "--currency", "EUR"], "currency"),
    Case("result-key-not-uuid", ["result", "order-42"], "key"),
    Case("mass-past-execution-date", [*MASS, "--execution-date", "2020-01-01T09:00Z"], "now is"),
    Case(
        "mass-naive-execution-date",
        [*MASS, "--execution-date", "2026-12-01T09:00"],
        "execution_date",
    ),
    Case("unknown-verb", ["frobnicate"], "frobnicate"),
    # the environment
    Case("env-poll-interval-pay", PAY, "PAYOUTS_POLL_INTERVAL", {"PAYOUTS_POLL_INTERVAL": "soon"}),
    Case(
        "env-poll-interval-zero",
        ["worker"],
        "PAYOUTS_POLL_INTERVAL",
        {"PAYOUTS_POLL_INTERVAL": "0"},
    ),
    Case(
        "env-temporal-address", ["status", KEY], "TEMPORAL_ADDRESS", {"TEMPORAL_ADDRESS": "nohost"}
    ),
    Case("env-api-url", ["worker"], "CALYPSO_API_URL", {"CALYPSO_API_URL": "ftp://calypso"}),
    Case("env-log-level", ["setup"], "PAYOUTS_LOG_LEVEL", {"PAYOUTS_LOG_LEVEL": "loud"}),
    Case(
        "env-webhook-keys-malformed",
        ["webhooks"],
        "CALYPSO_WEBHOOK_KEYS",
        {"CALYPSO_WEBHOOK_KEYS": "pub-1:sec-1,leaked-secret-value"},
        must_not_echo="leaked-secret-value",
    ),
    Case("env-webhook-keys-missing", ["webhooks"], "CALYPSO_WEBHOOK_KEYS"),
]


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CALYPSO_", "TEMPORAL_", "PAYOUTS_", "SANDBOX_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        TEMPORAL_ADDRESS=f"127.0.0.1:{closed_port()}",  # nothing listens: no Temporal needed
        COLUMNS="200",
    )
    env.update(extra)
    return env


def _run(case: Case) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and entry point
        [sys.executable, "-c", "from starter.cli.main import main; main()", *case.args],
        cwd=ROOT,
        env=_environment(case.env),
        capture_output=True,
        text=True,
        # Each case is a fresh interpreter importing temporalio and pydantic, eight at a time
        # on what may be a loaded 2-core machine; 60 s was tight for that. It fails fast anyway.
        timeout=180,
        check=False,
    )


def run_batch(cases: list[Case]) -> list[subprocess.CompletedProcess[str]]:
    """Every case in one fresh interpreter, one after another (`tests/unit/cli_batch.py`)."""
    batch = [{"args": case.args, "env": _environment(case.env)} for case in cases]
    done = subprocess.run(
        [sys.executable, "-m", "tests.unit.cli_batch"],
        cwd=ROOT,
        env=_environment({}),
        input=json.dumps(batch),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [
        subprocess.CompletedProcess(case.args, o["returncode"], o["stdout"], o["stderr"])
        for case, o in zip(cases, json.loads(done.stdout), strict=True)
    ]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, subprocess.CompletedProcess[str]]:
    return dict(zip((case.id for case in CASES), run_batch(CASES), strict=True))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_line_naming_the_field(
    case: Case, outcomes: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    assert_refused_in_one_line(case, outcomes[case.id])


def assert_refused_in_one_line(case: Case, done: subprocess.CompletedProcess[str]) -> None:
    """Bad input: exit 2, one stderr line naming the field, nothing on stdout, no connection."""
    lines = done.stderr.splitlines()
    assert "cannot reach Temporal" not in done.stderr, f"connected before validating: {lines}"
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("payouts: "), lines
    assert case.names.lower() in lines[0].lower(), lines
    assert done.stdout == ""
    if case.must_not_echo:
        assert case.must_not_echo not in done.stderr


@pytest.mark.parametrize("verb", [None, *VERBS])
def test_help_works_for_every_verb(verb: str | None) -> None:
    """--help answers without settings or Temporal, even when the environment is bad."""
    args = ["--help"] if verb is None else [verb, "--help"]
    result = CliRunner().invoke(app, args, env={"PAYOUTS_POLL_INTERVAL": "soon"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    if verb is not None:
        assert verb in result.output.splitlines()[0]
    else:
        for listed in VERBS:
            assert f"  {listed} " in result.output


def test_help_runs_through_the_console_script_entry() -> None:
    done = _run(Case("help", ["pay", "--help"], "pay"))
    assert done.returncode == 0, done.stderr
    assert "--amount" in done.stdout and done.stderr == ""


# --- what a run that cannot connect still tells ------------------------------------------------


KEY_LINE = re.compile(
    r"^key ([0-9a-f-]{36}) \(generated; to retry this (mass )?payout, pass --key \1\)$"
)


def _many_problems_csv() -> Path:
    """1,442 rows whose amount is not a number: a list with far more problems than shown."""
    path = Path(tempfile.mkdtemp()) / "bad.csv"
    path.write_text("".join(f"{TRON},ten\n" for _ in range(1442)))
    return path


@pytest.fixture(scope="module")
def unreachable() -> dict[str, subprocess.CompletedProcess[str]]:
    """Valid input while nothing listens on TEMPORAL_ADDRESS, side by side."""
    runs = {
        "pay": Case("pay", PAY, ""),
        "pay-json": Case("pay-json", [*PAY, "--json"], ""),
        "mass": Case("mass", MASS, ""),
        "mass-many-problems": Case(
            "many", [*MASS[:2], str(_many_problems_csv()), *MASS[3:], "--allow-duplicates"], ""
        ),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(runs, pool.map(_run, runs.values()), strict=True))


@pytest.mark.parametrize("run", ["pay", "mass"])
def test_a_generated_key_is_printed_before_connecting(
    run: str, unreachable: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    done = unreachable[run]
    assert done.returncode == 1, (done.returncode, done.stderr)
    lines = done.stdout.splitlines()
    assert KEY_LINE.match(lines[0]), done.stdout
    errors = done.stderr.splitlines()
    assert len(errors) == 1 and errors[0].startswith("payouts: cannot reach Temporal"), errors


def test_with_json_the_generated_key_goes_to_stderr(
    unreachable: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    done = unreachable["pay-json"]
    assert done.returncode == 1 and done.stdout == "", (done.stdout, done.stderr)
    key_line, error = done.stderr.splitlines()
    assert KEY_LINE.match(key_line) and error.startswith("payouts: cannot reach Temporal")


def test_a_csv_with_many_problems_shows_the_first_50_and_the_count(
    unreachable: dict[str, subprocess.CompletedProcess[str]],
) -> None:
    done = unreachable["mass-many-problems"]
    assert done.returncode == 2, (done.returncode, done.stderr[-500:])
    lines = done.stderr.splitlines()
    assert lines[:2] == [
        "  row 1: amount: 'ten' is not a number",
        "  row 2: amount: 'ten' is not a number",
    ]
    assert lines[49] == "  row 50: amount: 'ten' is not a number"
    assert lines[50] == "  … and 1392 more"
    assert lines[51].startswith("payouts: csv: 1442 problem(s) in ") and len(lines) == 52, lines[
        50:
    ]
    assert done.stdout == ""  # no key: nothing was going to start


@pytest.mark.parametrize("verb", ["pay", "mass", "status", "result"])
def test_verbs_that_end_with_an_outcome_document_their_exit_codes(verb: str) -> None:
    shown = CliRunner().invoke(app, [verb, "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    for code, state in ((0, "COMPLETED"), (10, "FAILED"), (11, "REJECTED"), (12, "CANCELED")):
        assert f"{code} {state}" in shown.output
    assert "13 PARTIAL" in shown.output and "2 bad input" in shown.output


def test_one_table_of_exit_codes_for_every_final_state() -> None:
    assert set(BY_FINAL_STATE) == FINAL_SAGA_STATES
    assert BY_FINAL_STATE[SagaState.COMPLETED] == 0
    failures = [code for state, code in BY_FINAL_STATE.items() if state != SagaState.COMPLETED]
    assert len(set(failures)) == len(failures) and not {0, 1, 2} & set(failures)
    assert of_state(SagaState.SUBMITTED) == 0  # not ended yet


def test_the_ui_link_names_the_namespace_and_the_workflow() -> None:
    settings = Settings(ui_url="https://temporal.example/ui", temporal_namespace="pay-eu")
    assert ui_link(settings, "payout-" + KEY) == (
        f"https://temporal.example/ui/namespaces/pay-eu/workflows/payout-{KEY}"
    )
