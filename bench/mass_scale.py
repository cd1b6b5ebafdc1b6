"""Mass payouts at the provider's smallest deal size, run as a new user would: through the CLI.

The system as deployed (`bench/deployment.py`: a dev server, and the sandbox without step delay
— a fast provider —, the webhook receiver and the worker each in its own process); two
recipient lists, each paid by `payouts mass --csv FILE --currency USDT --items-per-deal 100
--yes --wait --json` as a subprocess with the deployment's environment (the same PAYOUTS_HOME,
so the same ledger and payload store): 10,000 recipients (100 deals), the same-run
baseline, then 100,000 (1,000 deals). Every other option is the CLI's default (10 deals in
parallel, 500 deals per run before the parent continues as new, the default poll interval with
webhooks). The ledger is funded with each list's total and fee quote (the ledger settles fees
too) just before its run.

Figures per list: the CLI's wall time (CSV read and check, fee preview, start, wait for the end),
recipients per second, and the large list's time against ten times the small one's; history
events (and billable actions) per deal, averaged over 20 deal child workflows spread over the
list, and the parent's events over all its runs; the worker process's peak RSS (VmHWM), and the
largest CLI process's.
Before a figure is printed every recipient is checked to have been paid exactly once: the saga's
result says COMPLETED with every item completed and the list's total paid, and the sandbox holds
exactly the expected number of new deals whose withdrawals are, address and amount, the list,
each once and COMPLETED.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.ledger import SqliteLedger
from bench.deployment import Deployment, deployment, payouts_command
from bench.peak_rss import peak_of
from bench.saga_throughput import billable_actions
from starter.api.mass import recipients_from_rows
from starter.api.payouts import Payouts
from workflows.keys import mass_payout_workflow_id
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

RECIPIENTS = (10_000, 100_000)  # the baseline (100 deals), then the measured list (1,000 deals)
ITEMS_PER_DEAL = 100  # the provider's smallest deal size (100 items outside Ethereum)
CURRENCY = "USDT"  # ERC-20: EVM addresses; its default deal size is 1000, hence the option
STEP_DELAY_SECONDS = 0.0  # a fast provider
SAMPLED_DEALS = 20
CLI_TIMEOUT_SECONDS = 3600.0
SANDBOX_READERS = 8  # withdrawal pages read at once when checking the provider's side


@dataclass(frozen=True)
class Case:
    recipients: int
    deals: int
    seconds: float  # the CLI's wall time
    workflow_seconds: float  # the parent's first start to its last close
    rss_mb: float  # the worker process's peak RSS (VmHWM) when the case ended
    cli_rss_mb: float  # the CLI process's peak RSS
    per_deal: dict[str, float]  # averaged over the sampled deals
    parent_runs: int
    parent_events: int
    parent_largest_run: int

    @property
    def rate(self) -> float:
        return self.recipients / self.seconds


def _address(case: int, n: int) -> str:
    """A distinct, valid (lower-case) EVM address per recipient and list. Fixed last four
    characters: a random tail can be one of the sandbox's test cards (`fa11`, `bad1`, `5104`,
    `f1a1` are all hex), which fail or slow that recipient on purpose."""
    return "0x" + hashlib.sha256(f"bench-mass-{case}-{n}".encode()).hexdigest()[:36] + "0000"


def _amount(n: int) -> Decimal:
    return Decimal("0.5") + Decimal(n % 100) / 1000


def _write_list(path: Path, recipients: int) -> Counter[tuple[str, Decimal]]:
    """The CSV a user would upload; returns what the provider must pay, each pair once."""
    expected: Counter[tuple[str, Decimal]] = Counter()
    lines = ["address,amount,reference"]
    for n in range(recipients):
        address, amount = _address(recipients, n), _amount(n)
        expected[(address, amount)] += 1
        lines.append(f"{address},{amount},player-{n}")
    path.write_text("\n".join(lines) + "\n")
    if len(expected) != recipients:
        raise RuntimeError("generated addresses collide")
    return expected


async def _run_cli(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any], float]:
    """Run `payouts …` (its own process, as a user would) and read its JSON; also its peak RSS
    in MB (through `bench.peak_rss`, so that no other process of the benchmark counts)."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.peak_rss",
        payouts_command(),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(CLI_TIMEOUT_SECONDS):
            out, err = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"payouts {args[0]} exited {process.returncode}: {err.decode()[-2000:]}")
    document: dict[str, Any] = json.loads(out)
    return elapsed, document, peak_of(err.decode())


async def _parent_history(client: Client, workflow_id: str) -> tuple[list[int], float]:
    """Events of every run of the parent (newest first, following continue-as-new back) and
    the seconds from the first run's start to the last run's close."""
    events: list[int] = []
    run_id: str | None = None
    times: list[datetime] = []  # each run's first and last event, newest run first
    while True:
        count, previous = 0, None
        async for event in client.get_workflow_handle(
            workflow_id, run_id=run_id
        ).fetch_history_events():
            count += 1
            times.append(event.event_time.ToDatetime())
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
                attributes = event.workflow_execution_started_event_attributes
                previous = attributes.continued_execution_run_id or None
        events.append(count)
        if previous is None:
            break
        run_id = previous
    return events, (max(times) - min(times)).total_seconds()


async def _check_provider(
    sandbox_url: str, known: set[str], expected: Counter[tuple[str, Decimal]], deals: int
) -> set[str]:
    """The sandbox's new deals pay exactly `expected`, each once and COMPLETED; returns every
    deal id the sandbox now holds."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=60) as http:
        listing = (await http.get("/sandbox/payouts", params={"kind": "mass"})).json()
        ids = {deal["id"] for deal in listing}
        new = sorted(ids - known)
        if len(new) != deals:
            raise RuntimeError(f"{len(new)} deals at the provider, {deals} expected")
        paid: Counter[tuple[str, Decimal]] = Counter()
        states: Counter[str] = Counter()
        gate = asyncio.Semaphore(SANDBOX_READERS)

        async def read(deal_id: str) -> None:
            page, pages = 1, 1
            while page <= pages:
                async with gate:
                    response = await http.get(
                        f"/sandbox/payouts/{deal_id}/withdrawals",
                        params={"pageNumber": page, "size": 1000},
                    )
                body = json.loads(response.text, parse_float=Decimal)
                for item in body["result"]:
                    paid[(item["depositAddress"].lower(), Decimal(str(item["amount"])))] += 1
                    states[item["state"]] += 1
                pages, page = body["total"], page + 1

        await asyncio.gather(*(read(deal_id) for deal_id in new))
    if paid != expected:
        twice = sum(1 for count in paid.values() if count > 1)
        missing = sum(1 for pair in expected if pair not in paid)
        raise RuntimeError(f"provider: {twice} recipients paid twice, {missing} not paid")
    if set(states) != {"COMPLETED"}:
        raise RuntimeError(f"provider: withdrawal states {dict(states)}")
    return ids


async def _case(
    recipients: int, deployed: Deployment, workdir: Path, known: set[str]
) -> tuple[Case, set[str]]:
    settings, client = deployed.settings, deployed.client
    csv_file = workdir / f"recipients-{recipients}.csv"
    expected = _write_list(csv_file, recipients)
    total = sum((amount for _, amount in expected), Decimal(0))
    # The ledger settles each item's fee too: fund the total and the provider's fee quote.
    rows = [(address, amount, None, None) for address, amount in expected]
    payouts = Payouts(client, settings)
    preview = await payouts.mass.preview(CURRENCY, recipients_from_rows(rows, currency=CURRENCY))
    ledger = SqliteLedger(settings.ledger_path)
    await ledger.fund("default", CURRENCY, preview.total + preview.fee)
    await ledger.close()
    key = uuid.uuid4()
    seconds, document, cli_rss_mb = await _run_cli(
        [
            "mass",
            "--csv",
            str(csv_file),
            "--currency",
            CURRENCY,
            "--name",
            f"bench {recipients} recipients",
            "--items-per-deal",
            str(ITEMS_PER_DEAL),
            "--key",
            str(key),
            "--yes",
            "--wait",
            "--json",
        ],
        deployed.env,
    )
    rss_mb = deployed.peak_rss_mb("worker")
    deals = -(-recipients // ITEMS_PER_DEAL)
    result = await payouts.mass.result(key)
    if document.get("state") != SagaState.COMPLETED or result.state != SagaState.COMPLETED:
        raise RuntimeError(f"{recipients} recipients: {result.state} ({result.reason})")
    if result.counts.get(ItemState.COMPLETED) != recipients or result.paid != total:
        raise RuntimeError(f"{recipients} recipients: counts {result.counts}, paid {result.paid}")
    if len(result.deals) != deals:
        raise RuntimeError(f"{len(result.deals)} deals, {deals} expected")
    known = await _check_provider(settings.calypso_api_url, known, expected, deals)
    step = max(1, len(result.deals) // SAMPLED_DEALS)
    sample = result.deals[::step][:SAMPLED_DEALS]
    per_deal: Counter[str] = Counter()
    for deal in sample:
        per_deal.update(await billable_actions(client, deal.workflow_id))
    averaged = {name: count / len(sample) for name, count in per_deal.items()}
    runs, workflow_seconds = await _parent_history(client, mass_payout_workflow_id(key))
    case = Case(
        recipients=recipients,
        deals=deals,
        seconds=seconds,
        workflow_seconds=workflow_seconds,
        rss_mb=rss_mb,
        cli_rss_mb=cli_rss_mb,
        per_deal=averaged,
        parent_runs=len(runs),
        parent_events=sum(runs),
        parent_largest_run=max(runs),
    )
    return case, known


def _describe(case: Case) -> str:
    events, billable = case.per_deal.get("events", 0.0), case.per_deal.get("billable", 0.0)
    return (
        f"{case.recipients:,} recipients / {case.deals:,} deals: {case.seconds:.1f} s "
        f"({case.rate:.0f} recipients/s; workflow {case.workflow_seconds:.1f} s), "
        f"{events:.1f} events and {billable:.1f} billable actions per deal, "
        f"parent {case.parent_events:,} events in {case.parent_runs} run(s) "
        f"(largest {case.parent_largest_run:,}), worker process peak RSS {case.rss_mb:.0f} MB, "
        f"CLI peak RSS {case.cli_rss_mb:.0f} MB, every recipient paid once"
    )


async def _measure() -> dict[str, str]:
    with tempfile.TemporaryDirectory(prefix="bench-mass-") as tmp:
        workdir = Path(tmp)
        async with deployment(step_delay_seconds=STEP_DELAY_SECONDS) as deployed:
            known: set[str] = set()
            cases: list[Case] = []
            for recipients in RECIPIENTS:
                case, known = await _case(recipients, deployed, workdir, known)
                cases.append(case)
    baseline, measured = cases
    scale = measured.recipients / baseline.recipients
    return {
        "benchmark": f"mass payouts through the CLI at {ITEMS_PER_DEAL} items per deal, "
        f"{measured.recipients:,} recipients beside {baseline.recipients:,} (dev server, "
        "sandbox without delay)",
        "baseline": _describe(baseline),
        "measured": _describe(measured),
        "ratio": f"{measured.seconds / (scale * baseline.seconds):.2f}x: the "
        f"{measured.recipients:,}-recipient time over {scale:g} times the "
        f"{baseline.recipients:,}-recipient time (1.00x: linear)",
        "method": f"`payouts mass --csv --currency {CURRENCY} --items-per-deal "
        f"{ITEMS_PER_DEAL} --yes --wait --json` as a subprocess, timed from its start to its "
        "exit, lists run one after the other on one deployment, other options at their defaults; "
        f"events averaged over {SAMPLED_DEALS} deals' histories, the parent's over all its runs; "
        "RSS: the worker process's VmHWM (peak so far) and the CLI's own ru_maxrss (reported by "
        "a wrapper process, bench/peak_rss.py); each recipient checked paid once in the result "
        "and at the sandbox",
    }


def run() -> dict[str, str]:
    return asyncio.run(_measure())


if __name__ == "__main__":
    from bench.figures import run_alone

    run_alone(run)
