"""PAYOUTS_METRICS_PORT end to end: a client built by `connect()` with the port set serves the
SDK's runtime metrics and ours on one Prometheus endpoint; a payout and some webhooks move the
business counters (docs/observability.md). On the dev server: real time, real visibility."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from calypso.signing import sign
from sandbox.server import SandboxHandle
from starter.api import recipients_from_rows
from starter.service.saga_gauges import report_once, serves_metrics
from starter.service.settings import Settings
from starter.service.temporal_client import connect
from tests.contract.conftest import Control
from tests.integration.conftest import TRON
from tests.integration.observed_stack import (
    names,
    observed_stack,
    payout_request,
    scrape,
    total,
)
from tests.ports import free_port
from workflows.mass_models import MassPayoutRequest
from workflows.payout_models import SagaState

NETWORK_FAILS = TRON[:-4] + "fa11"  # a sandbox test card the network always rejects


@pytest_asyncio.fixture(scope="module")
async def metrics_url(dev_server: WorkflowEnvironment) -> AsyncIterator[str]:
    """One endpoint for the module: a runtime's endpoint lives as long as the process."""
    yield f"http://127.0.0.1:{free_port()}/metrics"


async def metered_client(dev_server: WorkflowEnvironment, url: str, tmp_path: Path) -> Client:
    address = url.removeprefix("http://").removesuffix("/metrics")
    settings = Settings.from_env(
        {
            "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
            "PAYOUTS_METRICS_PORT": address,
            "PAYOUTS_HOME": str(tmp_path),
        }
    )
    assert settings.metrics_address == address
    return await connect(settings)


async def test_a_payout_moves_the_sdk_and_business_metrics(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    metrics_url: str,
    tmp_path: Path,
) -> None:
    client = await metered_client(dev_server, metrics_url, tmp_path)
    async with observed_stack(client, sandbox_server, tmp_path) as stack:
        key = await stack.payouts.start(payout_request("25.5"))
        result = await stack.payouts.result(key)
        assert result.state == SagaState.COMPLETED
        samples = await scrape(metrics_url)

    # The SDK's own runtime metrics, from the same endpoint.
    sdk = {n for n in names(samples) if n.startswith("temporal_")}
    assert {"temporal_workflow_completed_total", "temporal_worker_task_slots_available"} <= sdk
    assert any(n.startswith("temporal_activity_execution_latency") for n in sdk)  # the create
    # Its short steps run as local activities (docs/architecture.md); the dashboard's panel
    # splits their latency by activity type.
    local = "temporal_local_activity_execution_latency_count"
    assert total(samples, local, activity_type="check_funds") == 1
    assert any(n.startswith("temporal_workflow_task_execution_latency") for n in sdk)

    queue = {"task_queue": stack.task_queue}
    single = {**queue, "kind": "single", "currency": "USDT_TRX"}
    assert total(samples, "payouts_started_total", **single) == 1
    assert total(samples, "payouts_ended_total", **single, state="COMPLETED") == 1
    assert total(samples, "payouts_state_changes_total", **single, state="SUBMITTED") == 1
    assert total(samples, "payouts_saga_duration_seconds_count", **single) == 1
    assert total(samples, "payouts_paid_after_execution_date_seconds_count", **single) == 1
    create = {**queue, "endpoint": "/api/v1/payout/create", "outcome": "ok"}
    assert total(samples, "payouts_provider_requests_total", **create) == 1
    assert total(samples, "payouts_provider_request_duration_seconds_count", **create) == 1
    assert total(samples, "payouts_provider_requests_total", **queue, outcome="ok") >= 3
    paid = {**queue, "currency": "USDT_TRX"}
    assert total(samples, "payouts_paid_amount_sum", **paid) == 25.5
    assert total(samples, "payouts_paid_amount_count", **paid) == 1
    assert total(samples, "payouts_released_amount_count", **paid) == 0
    settle = {**queue, "operation": "settle", "outcome": "ok"}
    assert total(samples, "payouts_ledger_request_duration_seconds_count", **settle) == 1
    # The saga's webhooks went through the receiver on the same client (hence the same meter).
    assert total(samples, "payouts_webhooks_delivered_total") >= 1


async def test_a_failed_payout_counts_its_amount_and_release(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    metrics_url: str,
    tmp_path: Path,
) -> None:
    client = await metered_client(dev_server, metrics_url, tmp_path)
    async with observed_stack(client, sandbox_server, tmp_path) as stack:
        request = payout_request("7.25").model_copy(update={"deposit_address": NETWORK_FAILS})
        key = await stack.payouts.start(request)
        assert (await stack.payouts.result(key)).state == SagaState.FAILED
        samples = await scrape(metrics_url)
    single = {"task_queue": stack.task_queue, "kind": "single", "currency": "USDT_TRX"}
    assert total(samples, "payouts_ended_total", **single, state="FAILED") == 1
    assert total(samples, "payouts_failed_amount_sum", **single) == 7.25
    moved = {"task_queue": stack.task_queue, "currency": "USDT_TRX"}
    assert total(samples, "payouts_released_amount_sum", **moved) == 7.25
    assert total(samples, "payouts_paid_amount_count", **moved) == 0


async def test_a_mass_payout_that_continues_as_new_is_counted_once(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    metrics_url: str,
    tmp_path: Path,
) -> None:
    """Three one-item deals, one run each: the later runs know their kind and currency from the
    search attributes they carry; the start and the end are counted once, each item's money."""
    client = await metered_client(dev_server, metrics_url, tmp_path)
    rows = [(TRON, Decimal("2"), None, None), (NETWORK_FAILS, Decimal("3"), None, None)]
    rows.append((TRON, Decimal("4"), None, None))
    recipients = recipients_from_rows(rows, currency="USDT_TRX", allow_duplicates=True)
    async with observed_stack(client, sandbox_server, tmp_path) as stack:
        request = MassPayoutRequest(
            currency="USDT_TRX", recipients=recipients, items_per_deal=1, deals_per_run=1
        )
        key = await stack.payouts.mass.start(request)
        assert (await stack.payouts.mass.result(key)).state == SagaState.PARTIAL
        samples = await scrape(metrics_url)
    mass = {"task_queue": stack.task_queue, "kind": "mass", "currency": "USDT_TRX"}
    assert total(samples, "payouts_started_total", **mass) == 1
    assert total(samples, "payouts_ended_total", **mass) == 1
    assert total(samples, "payouts_ended_total", **mass, state="PARTIAL") == 1
    assert total(samples, "payouts_ended_total", task_queue=stack.task_queue, kind="unknown") == 0
    moved = {"task_queue": stack.task_queue, "currency": "USDT_TRX"}
    assert total(samples, "payouts_paid_amount_sum", **moved) == 6
    assert total(samples, "payouts_released_amount_sum", **moved) == 3


async def test_the_receiver_counts_received_rejected_and_delivered(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    metrics_url: str,
    tmp_path: Path,
) -> None:
    client = await metered_client(dev_server, metrics_url, tmp_path)
    async with observed_stack(client, sandbox_server, tmp_path) as stack:
        before = await scrape(metrics_url)
        [(public_key, secret)] = stack.webhook_keys.items()
        url = f"{stack.receiver_url}/webhooks/calypso"
        unknown = {"type": "PAYOUT", "idempotencyKey": str(uuid.uuid4()), "payoutStatus": "NEW"}
        body = httpx.Request("POST", url, json=unknown).content
        bad = b"{not json"
        async with httpx.AsyncClient(timeout=10.0) as http:
            signed = {"Key": public_key, "Sign": sign(body, secret)}
            assert (await http.post(url, content=body, headers=signed)).status_code == 200
            forged = {"Key": public_key, "Sign": sign(body, "not-the-secret")}
            assert (await http.post(url, content=body, headers=forged)).status_code == 401
            malformed = {"Key": public_key, "Sign": sign(bad, secret)}
            assert (await http.post(url, content=bad, headers=malformed)).status_code == 400
        # And a real payout's webhooks, signed by the sandbox, reach their saga.
        key = await stack.payouts.start(payout_request("1"))
        assert (await stack.payouts.result(key)).state == SagaState.COMPLETED
        after = await scrape(metrics_url)

    def moved(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert moved("payouts_webhooks_rejected_total", reason="bad_signature") == 1
    assert moved("payouts_webhooks_rejected_total", reason="malformed") == 1
    assert moved("payouts_webhooks_unrouted_total", reason="no_saga") == 1
    assert moved("payouts_webhooks_delivered_total") >= 1
    answered = ("delivered", "unrouted", "rejected")
    assert moved("payouts_webhooks_received_total") == sum(
        moved(f"payouts_webhooks_{outcome}_total") for outcome in answered
    )


async def test_waiting_sagas_are_a_gauge_from_visibility(
    dev_server: WorkflowEnvironment, metrics_url: str, tmp_path: Path
) -> None:
    client = await metered_client(dev_server, metrics_url, tmp_path)
    assert serves_metrics(client) and not serves_metrics(dev_server.client)
    counts = await report_once(client)
    samples = await scrape(metrics_url)
    for state in (SagaState.WAITING_FOR_FUNDS, SagaState.WAITING_FOR_APPROVAL):
        assert total(samples, "payouts_sagas_waiting", state=state.value) == counts[state]
    assert ("payouts_sagas_waiting", SagaState.NEEDS_REVIEW.value) in {
        (name, labels.get("state")) for name, labels, _ in samples
    }


def test_without_the_port_there_is_no_metrics_runtime() -> None:
    from starter.service.temporal_client import process_runtime

    assert process_runtime(Settings()) is None
