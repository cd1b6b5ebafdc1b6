"""A versioned worker (PAYOUTS_DEPLOYMENT_NAME + PAYOUTS_BUILD_ID) on the local dev server: it
polls, its version becomes the deployment's current one (`temporal worker deployment
set-current-version`), and a payout runs on it to COMPLETED as an AUTO_UPGRADE workflow."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.service.worker import build_worker
from tests.contract.conftest import Control, eventually
from tests.integration.conftest import start_stack
from workflows.payout_models import SagaState


async def version_registered(client: Client, version: WorkerDeploymentVersion) -> bool:
    """Whether the server knows the version: its worker has polled."""
    try:
        described = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(
                namespace=client.namespace, deployment_name=version.deployment_name
            )
        )
    except RPCError:  # NotFound until the first poll reaches the server
        return False
    summaries = described.worker_deployment_info.version_summaries
    return any(s.deployment_version.build_id == version.build_id for s in summaries)


async def set_current_version(client: Client, version: WorkerDeploymentVersion) -> None:
    await client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace,
            deployment_name=version.deployment_name,
            build_id=version.build_id,
            identity="test_worker_versioning",
        )
    )


async def test_a_versioned_worker_runs_a_payout_to_completed(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    version = WorkerDeploymentVersion(f"payouts-{uuid.uuid4().hex[:8]}", "build-1")
    async with start_stack(
        dev_server.client, sandbox_server, sandbox, tmp_path, run_worker=False
    ) as stack:
        worker = build_worker(stack.client, stack.activities, stack.task_queue, version=version)
        async with worker:
            await eventually(lambda: version_registered(stack.client, version), deadline=30)
            await set_current_version(stack.client, version)

            handle = await stack.start(stack.payout())
            result = await handle.result()

            assert result.state == SagaState.COMPLETED, result.reason
            described = await handle.describe()
            versioning = described.raw_description.workflow_execution_info.versioning_info
            assert versioning.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE
            assert versioning.deployment_version.deployment_name == version.deployment_name
            assert versioning.deployment_version.build_id == version.build_id
