"""PAYOUTS_PAYLOAD_STORE=s3://bucket/prefix: a mass payout whose list goes to S3 completes on a
real Temporal server, and the list is an object in the bucket, under the prefix.

The S3 is moto's server mode (`ThreadedMotoServer`) on a free port of 127.0.0.1, reached the way a
deployment reaches any S3-compatible store: AWS_ENDPOINT_URL and the usual AWS variables.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
import pytest_asyncio
from moto.server import ThreadedMotoServer
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.service.payload_storage import data_converter
from starter.service.settings import Settings, SettingsError
from tests.contract.conftest import Control
from tests.integration.conftest import Stack, start_stack
from tests.integration.mass_support import mass_input, start_mass, tron
from tests.ports import free_port
from workflows.mass_models import ItemState
from workflows.payout_models import SagaState

BUCKET = "payouts-payloads"
STORE = f"s3://{BUCKET}/calypso/test"
RECIPIENTS = 700  # a list of about 43 KB: above the 32 KB offload threshold
DEADLINE_SECONDS = 120.0


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local S3 with one bucket; the AWS variables point every boto3 client at it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


@pytest_asyncio.fixture
async def s3_stack(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
    s3_endpoint: str,
) -> AsyncIterator[Stack]:
    """The dev-server stack on a client (and so its worker) that offloads to S3."""
    settings = Settings.from_env({"PAYOUTS_HOME": str(tmp_path), "PAYOUTS_PAYLOAD_STORE": STORE})
    client = await Client.connect(
        dev_server.client.service_client.config.target_host,
        data_converter=data_converter(settings.payload_dir, store=settings.payload_store),
    )
    async with start_stack(client, sandbox_server, sandbox, tmp_path) as stack:
        yield stack


async def test_a_mass_payout_offloaded_to_s3_completes(s3_stack: Stack, tmp_path: Path) -> None:
    handle = await start_mass(s3_stack, mass_input([tron(n) for n in range(RECIPIENTS)]))
    result = await asyncio.wait_for(handle.result(), DEADLINE_SECONDS)

    assert result.state == SagaState.COMPLETED, result
    assert result.counts.get(ItemState.COMPLETED) == RECIPIENTS, result.counts
    keys, local = await asyncio.to_thread(_stored, tmp_path)
    # The list the client offloaded at start, keyed by the saga's workflow id.
    assert any(key.startswith("calypso/test/v0/ns/") and handle.id in key for key in keys), keys
    assert local == []  # nothing went to the local directory


def _stored(tmp_path: Path) -> tuple[list[str], list[Path]]:
    """The bucket's keys, and the payload files of the local directory."""
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    return keys, list(tmp_path.rglob("*.payload"))


def test_an_unknown_payload_store_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    for value in ("gs://bucket/x", "bucket/x", "s3://No_Such"):
        with pytest.raises(SettingsError) as refused:
            Settings.from_env({"PAYOUTS_HOME": str(tmp_path), "PAYOUTS_PAYLOAD_STORE": value})
        message = str(refused.value)
        assert message.startswith("PAYOUTS_PAYLOAD_STORE: ") and "\n" not in message
