"""Reconciliation as a workflow: one activity compares the provider, the sagas and the ledger on
the worker (where the provider's secret lives); the workflow settles the window, keeps the report
as its result and shows the number of discrepancies as the `ReconcileDiscrepancies` search
attribute. `payouts reconcile` starts one and waits; the `payouts-reconcile` schedule starts one
every interval (`starter/service/reconcile_schedule.py`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.reconcile import ReconcileActivities
    from workflows.reconcile_models import ReconcileInput, ReconcileReport, ReconcileRequest
    from workflows.search_attributes import RECONCILE_DISCREPANCIES

# Every page of the provider's lists and a history read per saga: minutes on a busy account. The
# activity heartbeats after each page and each comparison, so a lost worker is noticed quickly.
COMPARE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=30),
    "heartbeat_timeout": timedelta(minutes=2),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=5),
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=5,
    ),
}


@workflow.defn(name="Reconcile")
class ReconcileWorkflow:
    @workflow.run
    async def run(self, request: ReconcileInput) -> ReconcileReport:
        since = request.since or workflow.now() - timedelta(seconds=request.window_seconds)
        workflow.set_current_details(f"comparing since {since.isoformat()}")
        report: ReconcileReport = await workflow.execute_activity_method(
            ReconcileActivities.reconcile,
            ReconcileRequest(
                since=since,
                task_queue=workflow.info().task_queue,
                stale_after_seconds=request.stale_after_seconds,
            ),
            **COMPARE,
        )
        workflow.upsert_search_attributes([RECONCILE_DISCREPANCIES.value_set(report.total)])
        workflow.set_current_details(_summary(report))
        return report


def _summary(report: ReconcileReport) -> str:
    if report.clean:
        return f"clean since {report.since.isoformat()}"
    kinds = ", ".join(f"{kind} {n}" for kind, n in report.counts.items() if n)
    return f"{report.total} discrepancies since {report.since.isoformat()}: {kinds}"
