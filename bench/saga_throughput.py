"""Saga throughput beside a minimal workflow, and what one immediate payout costs in billable
Temporal actions.

The system as deployed (`bench/deployment.py`): a local dev server, and the sandbox with no step
delay (a fast provider), the webhook receiver and the saga's worker each in its own process, as
is a worker for the baseline. 200 immediate payouts started at once through the Python API, and
200 runs of a one-activity workflow on the same server, interleaved after a warm-up of each
(minimal, saga, minimal, saga, …); the ratio of the medians is the figure. Billable actions
are counted from each saga's history: the start, every activity scheduled, every batch of local
activities (the markers one workflow task records), every timer, signal and update. The CPU
time each process used during the measured rounds, per run, shows where each kind of run's cost
lands on the machine's cores.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from decimal import Decimal
from typing import TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.ledger import SqliteLedger
from bench.deployment import Deployment, deployment
from bench.minimal_workflow import QUEUE as MINIMAL_QUEUE
from bench.minimal_workflow import MinimalWorkflow
from starter.api.payouts import PayoutRequest, Payouts

CONCURRENT = 200
ROUNDS = 2
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
T = TypeVar("T")


async def _minimal_rate(client: Client) -> float:
    started = time.perf_counter()
    handles = await asyncio.gather(
        *(
            client.start_workflow(
                MinimalWorkflow.run, n, id=f"minimal-{uuid.uuid4()}", task_queue=MINIMAL_QUEUE
            )
            for n in range(CONCURRENT)
        )
    )
    await asyncio.gather(*(handle.result() for handle in handles))
    return CONCURRENT / (time.perf_counter() - started)


async def _saga_rate(payouts: Payouts) -> tuple[float, list[uuid.UUID]]:
    started = time.perf_counter()
    keys = await asyncio.gather(
        *(
            payouts.start(
                PayoutRequest(
                    deposit_address=TRON,
                    amount=Decimal(1),
                    currency="USDT_TRX",
                    idempotency_key=uuid.uuid4(),
                )
            )
            for _ in range(CONCURRENT)
        )
    )
    results = await asyncio.gather(*(payouts.result(key) for key in keys))
    elapsed = time.perf_counter() - started
    assert all(result.state == "COMPLETED" for result in results), "a benchmark payout failed"
    return CONCURRENT / elapsed, keys


# The processes whose CPU time each kind of run is charged with (the benchmark's own client too).
MINIMAL_PARTS = ("server", "minimal-worker")
SAGA_PARTS = ("server", "worker", "sandbox", "receiver")


class CpuPerRun:
    """CPU milliseconds per run, by process, summed over the measured rounds of one kind: where
    each run's cost lands on the machine's two cores, which explains the throughput ratio."""

    def __init__(self, deployed: Deployment, parts: tuple[str, ...]) -> None:
        self._deployed = deployed
        self._parts = parts
        self._seconds: dict[str, float] = {}
        self._runs = 0

    async def measure(self, round_of_runs: Awaitable[T]) -> T:
        """Await one round of CONCURRENT runs, charging the CPU used meanwhile to them."""
        before = self._now()
        outcome = await round_of_runs
        for part, seconds in self._now().items():
            self._seconds[part] = self._seconds.get(part, 0.0) + seconds - before[part]
        self._runs += CONCURRENT
        return outcome

    def _now(self) -> dict[str, float]:
        now = {part: self._deployed.cpu_seconds(part) for part in self._parts}
        return {**now, "client": time.process_time()}

    def ms(self) -> dict[str, float]:
        return {part: 1000 * seconds / self._runs for part, seconds in self._seconds.items()}

    def show(self) -> str:
        ms = self.ms()
        parts = ", ".join(f"{part} {value:.0f}" for part, value in ms.items())
        return f"{sum(ms.values()):.0f} ms ({parts})"


async def billable_actions(client: Client, workflow_id: str) -> Counter[str]:
    """One saga's billable actions by kind, from its history."""
    counts: Counter[str] = Counter()
    batches: set[int] = set()
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        counts["events"] += 1
        kind = {
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "start",
            EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
            EventType.EVENT_TYPE_TIMER_STARTED: "timers",
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
        }.get(event.event_type)
        if kind:
            counts[kind] += 1
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == "core_local_activity":
                batches.add(marker.workflow_task_completed_event_id)
    counts["local activity batches"] = len(batches)
    counts["billable"] = sum(
        counts[k]
        for k in ("start", "activities", "timers", "signals", "updates", "local activity batches")
    )
    return counts


async def _measure() -> dict[str, str]:
    async with deployment(step_delay_seconds=0.0) as deployed:
        ledger = SqliteLedger(deployed.settings.ledger_path)
        await ledger.fund("default", "USDT_TRX", Decimal(10_000_000))
        await ledger.close()
        payouts = Payouts(deployed.client, deployed.settings)
        minimal: list[float] = []
        sagas: list[float] = []
        keys: list[uuid.UUID] = []
        minimal_cpu = CpuPerRun(deployed, MINIMAL_PARTS)
        saga_cpu = CpuPerRun(deployed, SAGA_PARTS)

        with deployed.process("minimal-worker", sys.executable, "-m", "bench.minimal_workflow"):
            # Warm-up (and both workers polling): first workflow tasks, caches, connections.
            await _minimal_rate(deployed.client)
            await _saga_rate(payouts)
            for _ in range(ROUNDS):
                minimal.append(await minimal_cpu.measure(_minimal_rate(deployed.client)))
                rate, keys = await saga_cpu.measure(_saga_rate(payouts))
                sagas.append(rate)
        sample = keys[:20]
        per_saga: Counter[str] = Counter()
        for key in sample:
            per_saga.update(await billable_actions(deployed.client, f"payout-{key}"))
    minimal_rate, saga_rate = statistics.median(minimal), statistics.median(sagas)
    shape = ", ".join(
        f"{per_saga[name] / len(sample):g} {name}"
        for name in (
            "start",
            "activities",
            "local activity batches",
            "timers",
            "signals",
            "updates",
            "billable",
            "events",
        )
    )
    return {
        "benchmark": f"{CONCURRENT} concurrent immediate payouts vs a one-activity workflow "
        "(dev server, sandbox without delay)",
        "baseline": f"minimal workflow: {minimal_rate:.1f} runs/s (median of {ROUNDS})",
        "measured": f"saga: {saga_rate:.1f} payouts/s (median of {ROUNDS}); per saga {shape}",
        "ratio": f"{saga_rate / minimal_rate:.2f}x the minimal workflow's throughput",
        "cpu": f"per minimal run {minimal_cpu.show()}; per saga {saga_cpu.show()}",
        "cpu ratio": f"{_total(minimal_cpu) / _total(saga_cpu):.2f} (minimal run's CPU / saga's); "
        f"with a saga worker that cost nothing at most {_ceiling(minimal_cpu, saga_cpu):.2f}",
        "method": f"sandbox, receiver, saga worker and baseline worker each in its own process; "
        f"{CONCURRENT} started at once, rate = {CONCURRENT} / (last result - first start), rounds "
        "interleaved after a warm-up; actions counted over 20 sagas' histories",
    }


def _total(cpu: CpuPerRun) -> float:
    return sum(cpu.ms().values())


def _ceiling(minimal: CpuPerRun, saga: CpuPerRun) -> float:
    """The ratio if the saga's worker used no CPU at all: the machine is CPU-bound, so the
    throughput ratio follows the CPU per run, and the server, sandbox and receiver stay."""
    return _total(minimal) / (_total(saga) - saga.ms()["worker"])


def run() -> dict[str, str]:
    return asyncio.run(_measure())


if __name__ == "__main__":
    from bench.figures import run_alone

    run_alone(run)
