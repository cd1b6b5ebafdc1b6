"""What one immediate payout costs in Temporal, and how long it takes: webhooks vs polling only.

Both runs use the same local dev server build, sandbox and worker code; the baseline is the same
saga with no webhook subscription, so it can only learn the outcome by polling (every second).
Counted from each saga's history: activities scheduled, timers started, signals received, events.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from decimal import Decimal

from temporalio.api.enums.v1 import EventType

from starter.api.payouts import PayoutRequest, Payouts
from starter.local.local_stack import local_stack
from starter.service.settings import Settings

SAGAS = 10
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
STEP_DELAY_SECONDS = 0.2


@dataclass(frozen=True)
class Run:
    seconds: list[float]
    per_saga: Counter[str]


async def _measure(webhooks: bool) -> Run:
    settings = replace(
        Settings.from_env({}),
        temporal_address="127.0.0.1:7239",
        ledger="none",
        poll_interval_seconds=30.0 if webhooks else 1.0,
    )
    async with local_stack(
        settings, step_delay_seconds=STEP_DELAY_SECONDS, webhooks=webhooks
    ) as stack:
        payouts = Payouts(stack.client, settings)

        async def one() -> tuple[float, Counter[str]]:
            started = time.perf_counter()
            key = await payouts.start(
                PayoutRequest(
                    deposit_address=TRON,
                    amount=Decimal(1),
                    currency="USDT_TRX",
                    idempotency_key=uuid.uuid4(),
                )
            )
            await payouts.result(key)
            elapsed = time.perf_counter() - started
            counts: Counter[str] = Counter()
            handle = stack.client.get_workflow_handle(f"payout-{key}")
            async for event in handle.fetch_history_events():
                counts["events"] += 1
                kind = {
                    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
                    EventType.EVENT_TYPE_TIMER_STARTED: "timers",
                    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
                }.get(event.event_type)
                if kind:
                    counts[kind] += 1
            return elapsed, counts

        results = await asyncio.gather(*(one() for _ in range(SAGAS)))
    total: Counter[str] = Counter()
    for _, counts in results:
        total.update(counts)
    return Run([seconds for seconds, _ in results], total)


def _per_saga(run: Run, name: str) -> float:
    return run.per_saga[name] / SAGAS


def run() -> dict[str, str]:
    hooks = asyncio.run(_measure(webhooks=True))
    polls = asyncio.run(_measure(webhooks=False))
    hooks_p50, polls_p50 = statistics.median(hooks.seconds), statistics.median(polls.seconds)

    def shape(run: Run) -> str:
        return ", ".join(
            f"{_per_saga(run, name):g} {name}"
            for name in ("activities", "signals", "timers", "events")
        )

    return {
        "benchmark": f"{SAGAS} concurrent immediate payouts, start to COMPLETED (dev server)",
        "baseline": f"polling only (1 s interval): p50 {polls_p50:.2f} s; per saga {shape(polls)}",
        "measured": f"webhooks: p50 {hooks_p50:.2f} s; per saga {shape(hooks)}",
        "ratio": f"{polls_p50 / hooks_p50:.2f}x faster with webhooks; polling writes "
        f"{_per_saga(polls, 'events') / _per_saga(hooks, 'events'):.2f}x the history events",
        "method": f"median over {SAGAS} sagas each; sandbox step delay {STEP_DELAY_SECONDS} s",
    }
