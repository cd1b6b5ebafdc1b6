from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import SandboxHandle, SandboxSettings, running_sandbox
from tests.sandbox.helpers import SandboxClient, WebhookReceiver

# Small delays keep the whole suite fast: a payout completes in ~5 steps of 20 ms, and the
# webhook retry schedule (30 s, 60 s, ...) shrinks to 30 ms, 60 ms, ...
TEST_SETTINGS = SandboxSettings(step_delay_seconds=0.02, webhook_time_scale=0.001)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    with running_sandbox(TEST_SETTINGS) as handle:
        yield handle


@pytest.fixture
def api(sandbox: SandboxHandle) -> Iterator[SandboxClient]:
    client = SandboxClient(sandbox.url, sandbox.settings)
    client.control("POST", "/reset")
    yield client
    client.close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    server = receiver.serve()
    yield receiver
    server.shutdown()
    server.server_close()
