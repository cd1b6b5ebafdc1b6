"""Several workers, one of them dying: two `payouts worker` processes share a task queue, the
PostgreSQL ledger and payloads in S3; one is SIGKILLed in the middle of 100 single payouts and a
1,000-recipient mass payout. Every saga ends, nothing is paid twice, and the ledger balances.

Real parts only: the Temporal dev server, the sandbox over loopback (polling, no webhooks), a
PostgreSQL server and moto's S3 server started here, and the real worker command.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.ledger import EntryState, PostgresLedger
from sandbox.server import SandboxHandle
from starter.api import MassPayoutRequest, PayoutRequest, Payouts
from starter.api.outcomes import saga_result
from starter.service.payload_storage import data_converter
from starter.service.settings import Settings
from tests.contract.conftest import Control, eventually
from tests.integration.mass_support import tron
from tests.integration.test_s3_payloads import STORE, s3_endpoint  # noqa: F401 - the fixture
from tests.ledger.postgres_server import postgres_server
from workflows.ledger_steps import item_ledger_key
from workflows.mass_models import ItemState, MassPayoutResult, Recipients
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import PayoutResult, SagaState

SINGLES = 100
RECIPIENTS = 1000  # USDT_TRX: 10 deals of 100
AMOUNT = Decimal("1.50")
FUNDED = Decimal(100_000)
DEADLINE_SECONDS = 300.0  # a killed worker's activities are retried after their 30 s timeout


@pytest.fixture(scope="module")
def ledger_dsn() -> Iterator[str]:
    with postgres_server() as server:
        yield server.new_database()


@pytest_asyncio.fixture
async def environment(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    ledger_dsn: str,
    s3_endpoint: str,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> AsyncIterator[dict[str, str]]:
    """The environment every process of this deployment reads: one task queue, one ledger, one
    payload store; the ledger's `default` sub-account funded."""
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": "default",
        "PAYOUTS_TASK_QUEUE": f"dying-{uuid.uuid4()}",
        "CALYPSO_API_URL": sandbox_server.url,
        "PAYOUTS_LEDGER": "postgres",
        "PAYOUTS_LEDGER_DSN": ledger_dsn,
        "PAYOUTS_PAYLOAD_STORE": STORE,
        "PAYOUTS_HOME": str(tmp_path),
        "PAYOUTS_POLL_INTERVAL": "1",
        "PAYOUTS_LOG_LEVEL": "WARNING",
    }
    await sandbox.post("/sandbox/config", {"stepDelaySeconds": 0.05})
    ledger = PostgresLedger(ledger_dsn)
    try:
        await ledger.fund("default", "USDT_TRX", FUNDED)
    finally:
        await ledger.close()
    yield env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).parent / "payouts"), "worker"]
    with log.open("wb") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)  # noqa: S603


async def test_a_worker_killed_mid_flight_loses_and_doubles_nothing(
    environment: dict[str, str], sandbox: Control, ledger_dsn: str, tmp_path: Path
) -> None:
    settings = Settings.from_env(environment)
    client = await Client.connect(
        settings.temporal_address,
        data_converter=data_converter(settings.payload_dir, store=settings.payload_store),
    )
    payouts = Payouts(client, settings)
    doomed = start_worker(environment, tmp_path / "worker-a.log")
    survivor = start_worker(environment, tmp_path / "worker-b.log")
    try:
        await eventually(lambda: _polled(payouts), deadline=60)
        singles = [
            await payouts.start(
                PayoutRequest(deposit_address=tron(n), amount=AMOUNT, currency="USDT_TRX")
            )
            for n in range(SINGLES)
        ]
        addresses = [tron(SINGLES + n) for n in range(RECIPIENTS)]
        mass_key = await payouts.mass.start(
            MassPayoutRequest(
                currency="USDT_TRX",
                recipients=Recipients(
                    addresses=addresses,
                    amounts=[AMOUNT] * RECIPIENTS,
                    comments=[None] * RECIPIENTS,
                    references=[None] * RECIPIENTS,
                ),
                name="workers dying",
            )
        )
        # Kill one worker once the work is well under way: some deals done, some not.
        handle = client.get_workflow_handle_for(MassPayoutWorkflow.run, f"mass-payout-{mass_key}")

        async def under_way() -> bool | None:
            progress = await handle.query(MassPayoutWorkflow.progress)
            done = RECIPIENTS - progress.counts.get(ItemState.PENDING, 0)
            return True if 0 < done < RECIPIENTS else None

        await eventually(under_way, deadline=120)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=30)

        async with asyncio.timeout(DEADLINE_SECONDS):
            results = [
                await saga_result(client.get_workflow_handle(f"payout-{key}"), PayoutResult)
                for key in singles
            ]
            mass = await saga_result(handle, MassPayoutResult)
    finally:
        for worker in (doomed, survivor):
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=30)

    assert [r.state for r in results] == [SagaState.COMPLETED] * SINGLES
    assert mass.state == SagaState.COMPLETED and mass.counts[ItemState.COMPLETED] == RECIPIENTS

    # Nothing paid twice: one provider payout per key, one deal per deal key.
    singles_at_provider = await sandbox.get("/sandbox/payouts?kind=single")
    keys = [p["idempotencyKey"] for p in singles_at_provider]
    assert sorted(keys) == sorted(str(key) for key in singles)
    deals_at_provider = await sandbox.get("/sandbox/payouts?kind=mass")
    assert len(deals_at_provider) == len(mass.deals) == RECIPIENTS // 100
    assert len({d["idempotencyKey"] for d in deals_at_provider}) == len(deals_at_provider)
    assert sum(d["withdrawalCount"] for d in deals_at_provider) == RECIPIENTS

    # The ledger balances: every entry settled, nothing left reserved, no money made or lost.
    ledger = PostgresLedger(ledger_dsn)
    try:
        for key in singles:
            entry = await ledger.entry(str(key))
            assert entry is not None and entry.state == EntryState.SETTLED, key
        for index in range(0, RECIPIENTS, 97):
            entry = await ledger.entry(item_ledger_key(mass_key, index))
            assert entry is not None and entry.state == EntryState.SETTLED, index
        balance = await ledger.balance("default", "USDT_TRX")
    finally:
        await ledger.close()
    fees = sum((r.fee or Decimal(0) for r in results), Decimal(0)) + mass.fees
    paid = AMOUNT * (SINGLES + RECIPIENTS)
    assert balance.reserved == 0
    assert balance.settled == paid + fees
    assert balance.available + balance.settled == FUNDED


async def _polled(payouts: Payouts) -> bool | None:
    return True if await payouts.has_worker() else None
