"""The worker: runs the payout workflows and their activities on the task queue.

Only the worker (and the webhook receiver) read the provider and ledger secrets; they stay in
the activity objects and never enter workflow inputs, history or logs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.callback_store_sqlite import SqliteCallbackStore
from activities.ledger import ledger_from_settings
from activities.observed_ledger import ObservedLedger
from activities.payout_activities import PayoutActivities
from activities.policy import PolicySource
from activities.provider_metrics import record_provider_request
from activities.reconcile import ReconcileActivities
from calypso.client import CalypsoClient
from starter.service.saga_gauges import report_waiting_sagas
from starter.service.settings import Settings
from starter.service.telemetry import worker_interceptors
from workflows.callback_replay import CallbackReplayWorkflow
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_payout import MassPayoutWorkflow
from workflows.mass_preview import MassPreviewWorkflow
from workflows.reconcile import ReconcileWorkflow
from workflows.recurring import RecurringPayoutWorkflow
from workflows.single_payout import SinglePayoutWorkflow

log = structlog.get_logger()
WORKFLOWS = [
    SinglePayoutWorkflow,
    MassPayoutWorkflow,
    MassDealWorkflow,
    MassPreviewWorkflow,
    CallbackReplayWorkflow,
    ReconcileWorkflow,
    RecurringPayoutWorkflow,
]
# Models and pydantic are deterministic; passing them through avoids re-importing per run.
# Workflow activations are Python under the GIL: the SDK's default pool of up to 500 threads
# only makes them contend (a mass payout's worker spent a tenth of its time handing work between
# threads). Two keep one long activation (a parent tallying a deal) from holding up the rest.
WORKFLOW_TASK_THREADS = 2
PASSTHROUGH = (
    "pydantic",
    "pydantic_core",
    "activities",
    "structlog",
    "httpx",
    "simplejson",
    "opentelemetry",  # the tracing interceptor's context must be the one outside the sandbox
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


@contextlib.asynccontextmanager
async def payout_activities(settings: Settings) -> AsyncIterator[PayoutActivities]:
    """The activity object with its pooled provider client and ledger, closed on exit; both
    observed (spans, metrics: docs/observability.md)."""
    ledger = ObservedLedger(
        ledger_from_settings(
            settings.ledger,
            path=settings.ledger_path,
            url=settings.ledger_url,
            secret=settings.ledger_secret,
            dsn=settings.ledger_dsn,
        )
    )
    async with CalypsoClient(
        settings.calypso_api_url,
        settings.credentials,
        calls_per_second=settings.provider_rate,
        observe=record_provider_request,
    ) as calypso:
        activities = PayoutActivities(
            calypso,
            ledger,
            callback_url=settings.callback_url,
            callback_secret=settings.callback_secret,
            callback_store=SqliteCallbackStore(settings.callback_store),
            callback_retry=timedelta(hours=settings.callback_retry_hours),
            policy=PolicySource(settings.policy_path),
        )
        try:
            yield activities
        finally:
            await activities.close()
            await ledger.close()


def deployment_config(version: WorkerDeploymentVersion | None) -> WorkerDeploymentConfig | None:
    """Worker Deployment versioning when a version is configured (PAYOUTS_DEPLOYMENT_NAME and
    PAYOUTS_BUILD_ID), else None: an unversioned worker.

    AUTO_UPGRADE for every workflow: a payout sleeps for weeks, longer than any build lives, so
    it moves to the current version at its next task; `workflow.patched` keeps its old path
    replaying there (README, deploying new code). No decorator changes, so no history changes.
    """
    if version is None:
        return None
    return WorkerDeploymentConfig(
        version=version,
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


def build_worker(
    client: Client,
    activities: PayoutActivities,
    task_queue: str,
    *,
    version: WorkerDeploymentVersion | None = None,
    provider_rate: float | None = None,
    max_cached_workflows: int = 1000,
) -> Worker:
    """`provider_rate`: activities per second across every worker of the task queue (the server
    enforces it; README, provider rate limit). Ledger and callback activities share the queue,
    so they count too. `max_cached_workflows`: the SDK's default; 0 makes every workflow task
    replay the whole history (a test's way to prove replay holds on every path)."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            *activities.with_mass_payouts(),
            *ReconcileActivities.beside(activities).all(),
        ],
        workflow_runner=workflow_runner(),
        deployment_config=deployment_config(version),
        max_task_queue_activities_per_second=provider_rate,
        interceptors=worker_interceptors(client.config()["interceptors"]),
        max_cached_workflows=max_cached_workflows,
        workflow_task_executor=ThreadPoolExecutor(
            max_workers=WORKFLOW_TASK_THREADS, thread_name_prefix="workflow-task"
        ),
    )


async def run_worker(client: Client, settings: Settings) -> None:
    """Run until cancelled (Ctrl-C)."""
    async with payout_activities(settings) as activities:
        worker = build_worker(
            client,
            activities,
            settings.task_queue,
            version=settings.worker_version,
            provider_rate=settings.provider_rate,
        )
        version = settings.worker_version
        log.info(
            "worker.started",
            task_queue=settings.task_queue,
            api=settings.calypso_api_url,
            version=version.to_canonical_string() if version else None,
        )
        async with report_waiting_sagas(client):
            await worker.run()
