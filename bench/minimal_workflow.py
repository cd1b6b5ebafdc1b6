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
