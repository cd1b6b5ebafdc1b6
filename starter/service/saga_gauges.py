"""How many sagas wait on someone, as a gauge (docs/observability.md): counted from Temporal's
visibility (`PayoutState` of running sagas), so the number is right whichever worker moved them
and however often workers restart. Every worker reports the same number: read it with max().
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import Runtime
from temporalio.service import RPCError

from workflows.payout_models import SagaState

log = structlog.get_logger()
WAITING_STATES = (
    SagaState.WAITING_FOR_FUNDS,
    SagaState.WAITING_FOR_APPROVAL,
    SagaState.NEEDS_REVIEW,
)
REPORT_EVERY_SECONDS = 30.0


def serves_metrics(client: Client) -> bool:
    """Whether the client's runtime records metrics (PAYOUTS_METRICS_PORT, endpoint open)."""
    runtime = client.service_client.config.runtime
    return runtime is not None and runtime.metric_meter is not MetricMeter.noop


async def count_waiting_sagas(client: Client) -> dict[SagaState, int]:
    """Running sagas per waiting state, as visibility has them now."""
    counts: dict[SagaState, int] = {}
    for state in WAITING_STATES:
        query = f"ExecutionStatus = 'Running' AND PayoutState = '{state.value}'"
        counts[state] = (await client.count_workflows(query)).count
    return counts


async def report_once(client: Client) -> dict[SagaState, int]:
    """Set the gauge `payouts_sagas_waiting{state}` on the client's runtime meter."""
    runtime = client.service_client.config.runtime or Runtime.default()
    gauge = runtime.metric_meter.create_gauge(
        "payouts_sagas_waiting", "Running sagas waiting for funds, approval or review"
    )
    counts = await count_waiting_sagas(client)
    for state, count in counts.items():
        gauge.set(count, {"state": state.value})
    return counts


@contextlib.asynccontextmanager
async def report_waiting_sagas(
    client: Client, *, every_seconds: float = REPORT_EVERY_SECONDS
) -> AsyncIterator[None]:
    """While the block runs, refresh the gauge every `every_seconds` (when metrics are on)."""
    if not serves_metrics(client):
        yield
        return

    async def loop() -> None:
        while True:
            try:
                await report_once(client)
            except RPCError as error:  # visibility busy or unreachable: try again next time
                log.warning("metrics.waiting_sagas_unavailable", error=str(error))
            await asyncio.sleep(every_seconds)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
