"""The baseline of the throughput benchmark: one workflow, one activity, nothing else. Its own
module, so that the workflow sandbox imports it on its own, as it imports the saga's."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn
async def noop(value: int) -> int:
    return value


@workflow.defn(name="BenchMinimal")
class MinimalWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            noop, value, start_to_close_timeout=timedelta(seconds=30)
        )


QUEUE = "bench-minimal"


async def _serve() -> None:
    """A worker for the baseline alone, in its own process (as the saga's worker is): sandboxed
    like the saga's, on the server TEMPORAL_ADDRESS names."""
    from temporalio.worker import Worker

    from starter.service.settings import Settings
    from starter.service.temporal_client import connect
    from starter.service.worker import workflow_runner

    client = await connect(Settings.from_env())
    worker = Worker(
        client,
        task_queue=QUEUE,
        workflows=[MinimalWorkflow],
        activities=[noop],
        workflow_runner=workflow_runner(),
    )
    await worker.run()


if __name__ == "__main__":
    import asyncio

    asyncio.run(_serve())
