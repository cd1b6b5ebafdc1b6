"""A stack wired like `payouts worker` and `payouts webhooks` for the metrics and tracing tests:
the observed ledger, the provider client's metrics hook, a subscribed receiver and a worker, on
a client the test gives (built by `connect()`, or carrying the tracing interceptor)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
from temporalio.client import Client

from activities.ledger import SqliteLedger
from activities.observed_ledger import ObservedLedger
from activities.payout_activities import PayoutActivities
from activities.provider_metrics import record_provider_request
from calypso.client import CalypsoClient
from calypso.requests import CreateWebhookSubscriptionRequest
from sandbox.server import SandboxHandle
from starter.api import PayoutRequest, Payouts
from starter.service.asgi_runner import serve_in_background
from starter.service.settings import Settings
from starter.service.webhook_receiver import create_receiver_app
from starter.service.worker import build_worker
from tests.contract.conftest import credentials
from tests.integration.conftest import TRON


@dataclass
class ObservedStack:
    payouts: Payouts
    task_queue: str
    receiver_url: str
    webhook_keys: dict[str, str]


def payout_request(amount: str = "25.5") -> PayoutRequest:
    return PayoutRequest(deposit_address=TRON, amount=Decimal(amount), currency="USDT_TRX")


@contextlib.asynccontextmanager
async def observed_stack(
    client: Client, sandbox_server: SandboxHandle, tmp_path: Path
) -> AsyncIterator[ObservedStack]:
    inner = SqliteLedger(tmp_path / "ledger.sqlite3")
    await inner.fund("default", "USDT_TRX", Decimal(1_000_000))
    ledger = ObservedLedger(inner)
    task_queue = f"payouts-{uuid.uuid4()}"
    settings = Settings(task_queue=task_queue, poll_interval_seconds=1.0)
    async with CalypsoClient(
        sandbox_server.url, credentials(), observe=record_provider_request
    ) as calypso:
        activities = PayoutActivities(calypso, ledger)
        keys: dict[str, str] = {}
        receiver = create_receiver_app(client, keys, forward="all")  # counts every delivery
        async with serve_in_background(receiver) as receiver_url:
            subscription = await calypso.create_webhook_subscription(
                CreateWebhookSubscriptionRequest(
                    request_id=uuid.uuid4(), url=f"{receiver_url}/webhooks/calypso"
                )
            )
            assert subscription.public_key and subscription.secret_key
            keys[subscription.public_key] = subscription.secret_key
            async with build_worker(client, activities, task_queue):
                yield ObservedStack(Payouts(client, settings), task_queue, receiver_url, keys)
        await activities.close()
        await ledger.close()


# --- reading a Prometheus endpoint ---------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<labels>.*)\})?\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
Sample = tuple[str, dict[str, str], float]


async def scrape(url: str) -> list[Sample]:
    async with httpx.AsyncClient(timeout=10.0) as http:
        response = await http.get(url)
    response.raise_for_status()
    samples: list[Sample] = []
    for line in response.text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match and not line.startswith("#"):
            labels = dict(_LABEL.findall(match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    return sum(
        value
        for sample_name, found, value in samples
        if sample_name == name and all(found.get(k) == v for k, v in labels.items())
    )


def names(samples: list[Sample]) -> set[str]:
    return {name for name, _, _ in samples}
