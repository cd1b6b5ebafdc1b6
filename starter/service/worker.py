"""The worker: runs the payout workflows and their activities on the task queue.

Only the worker (and the webhook receiver) read the provider and ledger secrets; they stay in
the activity objects and never enter workflow inputs, history or logs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.callback_store_sqlite import SqliteCallbackStore
from activities.ledger import ledger_from_settings
from activities.payout_activities import PayoutActivities
from activities.reconcile import ReconcileActivities
from calypso.client import CalypsoClient
from starter.service.settings import Settings
from workflows.callback_replay import CallbackReplayWorkflow
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_payout import MassPayoutWorkflow
from workflows.mass_preview import MassPreviewWorkflow
from workflows.reconcile import ReconcileWorkflow
from workflows.single_payout import SinglePayoutWorkflow

log = structlog.get_logger()
WORKFLOWS = [
    SinglePayoutWorkflow,
    MassPayoutWorkflow,
    MassDealWorkflow,
    MassPreviewWorkflow,
    CallbackReplayWorkflow,
    ReconcileWorkflow,
]
# Models and pydantic are deterministic; passing them through avoids re-importing per run.
PASSTHROUGH = ("pydantic", "pydantic_core", "activities", "structlog", "httpx", "simplejson")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )


@contextlib.asynccontextmanager
async def payout_activities(settings: Settings) -> AsyncIterator[PayoutActivities]:
    """The activity object with its pooled provider client and ledger, closed on exit."""
    ledger = ledger_from_settings(
        settings.ledger,
        path=settings.ledger_path,
        url=settings.ledger_url,
        secret=settings.ledger_secret,
        dsn=settings.ledger_dsn,
    )
    async with CalypsoClient(settings.calypso_api_url, settings.credentials) as calypso:
        activities = PayoutActivities(
            calypso,
            ledger,
            callback_url=settings.callback_url,
            callback_secret=settings.callback_secret,
            callback_store=SqliteCallbackStore(settings.callback_store),
            callback_retry=timedelta(hours=settings.callback_retry_hours),
        )
        try:
            yield activities
        finally:
            await activities.close()
            await ledger.close()


def build_worker(client: Client, activities: PayoutActivities, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=[
            *activities.with_mass_payouts(),
            *ReconcileActivities.beside(activities).all(),
        ],
        workflow_runner=workflow_runner(),
    )


async def run_worker(client: Client, settings: Settings) -> None:
    """Run until cancelled (Ctrl-C)."""
    async with payout_activities(settings) as activities:
        worker = build_worker(client, activities, settings.task_queue)
        log.info("worker.started", task_queue=settings.task_queue, api=settings.calypso_api_url)
        await worker.run()
