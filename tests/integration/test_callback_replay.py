"""Merchant callbacks that can be replayed: a real merchant over HTTP, the real dev server, a real
worker with the real SQLite callback store, and the real `payouts` CLI in its own process.

The merchant is down until the retry budget (2 s here) runs out: every event ends UNDELIVERED,
in the store, in the saga's status and in `payouts callbacks list --undelivered`, and the payout
is paid all the same. The merchant comes back: `payouts callbacks replay` (by event id, by
payout key, and every undelivered one) has the worker send the same event ids again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from temporalio.testing import WorkflowEnvironment

from activities.callback_store import CallbackSelection, DeliveryState, StoredCallback
from activities.callback_store_sqlite import SqliteCallbackStore
from activities.callbacks import CallbackEvent, InvalidCallbackError, verify_callback
from activities.ledger import EntryState
from activities.payout_activities import PayoutActivities
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.service.asgi_runner import serve_in_background
from starter.service.worker import build_worker
from tests.contract.conftest import Control
from tests.integration.cli_runner import CLI_DEADLINE_SECONDS, ROOT, Ran
from tests.integration.conftest import Stack, ledger_state, saga_status, start_stack
from tests.integration.mass_support import mass_input, start_mass, tron
from workflows.mass_models import MassPayoutResult, MassProgress
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import PayoutResult, PayoutStatus, SagaState

SECRET = "merchant-callback-secret"
BUDGET = timedelta(seconds=2)  # attempts at about 0, 1 and 3 s: the third one gives up


@dataclass
class Merchant:
    """The merchant's endpoint: 503 to everything while `down`; otherwise verifies the signature
    and keeps each event id once (409 after). `tries` counts every request per Event-Id."""

    down: bool = True
    events: dict[str, CallbackEvent] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)
    tries: Counter[str] = field(default_factory=Counter)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/callbacks")
        async def receive(request: Request) -> Response:
            body = await request.body()
            self.tries[request.headers.get("event-id", "")] += 1
            if self.down:
                return Response(status_code=503)
            try:
                event = verify_callback(body, request.headers, SECRET)
            except InvalidCallbackError:
                return Response(status_code=401)
            if event.event_id in self.events:
                return Response(status_code=409)
            self.events[event.event_id], self.bodies[event.event_id] = event, body
            return Response(status_code=204)

        return app


@dataclass
class Rig:
    stack: Stack
    env: WorkflowEnvironment
    merchant: Merchant
    store: SqliteCallbackStore
    home: Path

    async def payouts(self, *args: str, task_queue: str | None = None) -> Ran:
        """`payouts ARGS` in its own process, on this rig's server, queue and callback store."""
        ours = ("CALYPSO_", "TEMPORAL_", "PAYOUTS_", "SANDBOX_")
        environ = {name: value for name, value in os.environ.items() if not name.startswith(ours)}
        environ.update(
            PYTHONPATH=str(ROOT),
            TEMPORAL_ADDRESS=self.env.client.service_client.config.target_host,
            PAYOUTS_TASK_QUEUE=task_queue or self.stack.task_queue,
            PAYOUTS_HOME=str(self.home),
            PAYOUTS_CALLBACK_STORE=self.store.path,
            PAYOUTS_LOG_LEVEL="WARNING",
            COLUMNS="200",
        )
        pipe, main = asyncio.subprocess.PIPE, "from starter.cli.main import main; main()"
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-c", main, *args),
            cwd=self.home,
            env=environ,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=pipe,
            stderr=pipe,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), CLI_DEADLINE_SECONDS)
        finally:
            if process.returncode is None:  # hung: it must not outlive its test
                process.kill()
                await process.wait()
        assert process.returncode is not None
        return Ran(process.returncode, out.decode(), err.decode())

    async def listed(self, *args: str) -> list[dict[str, Any]]:
        ran = await self.payouts("callbacks", "list", *args, "--json")
        assert ran.code == 0, ran.err
        found: list[dict[str, Any]] = json.loads(ran.out)
        return found

    async def stored(self, payout_key: str) -> list[StoredCallback]:
        selection = CallbackSelection(payout_key=payout_key)
        return await self.store.find(selection, limit=100, with_attempts=True)


@contextlib.asynccontextmanager
async def rig(
    env: WorkflowEnvironment, sandbox_server: SandboxHandle, sandbox: Control, tmp_path: Path
) -> AsyncIterator[Rig]:
    """A worker whose callbacks go to a merchant that is down, recorded in a store on disk."""
    merchant = Merchant()
    home = tmp_path / "home"
    home.mkdir()
    store = SqliteCallbackStore(home / "callbacks.sqlite3")
    async with (
        serve_in_background(merchant.app()) as merchant_url,
        start_stack(env.client, sandbox_server, sandbox, tmp_path, run_worker=False) as stack,
    ):
        activities = PayoutActivities(
            stack.calypso,
            stack.ledger,
            callback_url=f"{merchant_url}/callbacks",
            callback_secret=SECRET,
            callback_store=store,
            callback_retry=BUDGET,
        )
        try:
            async with build_worker(stack.client, activities, stack.task_queue):
                yield Rig(stack, env, merchant, store, home)
        finally:
            await activities.close()  # closes the store too


def sent_ids(status: PayoutStatus | MassProgress) -> list[str]:
    """The event ids a saga sent: one per state change, `<workflow id>/<n>`."""
    changes = [entry for entry in status.timeline if entry.event == "state"]
    prefix = "mass-payout" if isinstance(status, MassProgress) else "payout"
    return [f"{prefix}-{status.key}/{n}" for n in range(1, len(changes) + 1)]


async def test_undelivered_after_the_budget_then_replayed_by_id_key_and_undelivered(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    async with rig(dev_server, sandbox_server, sandbox, tmp_path) as r:
        inputs = [r.stack.payout(notify_merchant=True) for _ in range(2)]
        handles = [await r.stack.start(saga_input) for saga_input in inputs]
        # The sagas end, paid, although no callback got through: bounded, never failing.
        for handle in handles:
            assert (await saga_result(handle, PayoutResult)).state == SagaState.COMPLETED
        for saga_input in inputs:
            assert await ledger_state(r.stack, saga_input) == EntryState.SETTLED
        first, second = [await saga_status(handle) for handle in handles]
        keys = [str(first.key), str(second.key)]
        ids = {key: sent_ids(status) for key, status in zip(keys, (first, second), strict=True)}

        # Visible in the saga's status and timeline …
        for key, status in zip(keys, (first, second), strict=True):
            assert sorted(status.undelivered_callbacks) == sorted(ids[key])
            notes = [e.note or "" for e in status.timeline if e.event == "callback"]
            assert len(notes) == len(ids[key]) and all("undelivered after" in n for n in notes)
        # … in the store, every attempt recorded as the merchant saw it …
        for key in keys:
            for stored in await r.stored(key):
                assert stored.delivery is DeliveryState.UNDELIVERED
                assert stored.attempts >= 2 and stored.attempts == r.merchant.tries[stored.event_id]
                assert {(a.via, a.outcome, a.http_status) for a in stored.attempt_log} == {
                    ("saga", "unavailable", 503)
                }
        # … and in `payouts callbacks list --undelivered`, with or without --key.
        listed = await r.listed("--undelivered")
        assert {item["event_id"] for item in listed} == {*ids[keys[0]], *ids[keys[1]]}
        only_second = await r.listed("--undelivered", "--key", keys[1])
        assert {item["event_id"] for item in only_second} == set(ids[keys[1]])

        r.merchant.down = False
        one = ids[keys[0]][0]
        by_id = await r.payouts("callbacks", "replay", one)
        assert by_id.code == 0, by_id.err
        assert set(r.merchant.events) == {one} and "delivered" in by_id.out

        by_key = await r.payouts("callbacks", "replay", "--key", keys[1])
        assert by_key.code == 0, by_key.err
        assert set(r.merchant.events) == {one, *ids[keys[1]]}
        left = await r.listed("--undelivered")
        assert {item["event_id"] for item in left} == set(ids[keys[0]][1:])

        rest = await r.payouts("callbacks", "replay", "--undelivered", "--json")
        assert rest.code == 0, rest.err
        report = json.loads(rest.out)
        assert [o["event_id"] for o in report["outcomes"]] == ids[keys[0]][1:]
        assert all(o["delivered"] and o["delivery"] == "DELIVERED" for o in report["outcomes"])
        assert await r.listed("--undelivered") == []

        # The merchant holds every event once, under the id the saga gave it, as the saga sent it.
        assert set(r.merchant.events) == {*ids[keys[0]], *ids[keys[1]]}
        for key in keys:
            for stored in await r.stored(key):
                assert stored.delivery is DeliveryState.DELIVERED
                assert r.merchant.bodies[stored.event_id] == stored.event.to_body()
                assert stored.attempts == r.merchant.tries[stored.event_id]
                assert stored.attempt_log[-1].via == "replay"
                assert stored.attempt_log[-1].outcome == "delivered"


async def test_a_mass_payout_shows_its_undelivered_callbacks(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    async with rig(dev_server, sandbox_server, sandbox, tmp_path) as r:
        request = mass_input([tron(1), tron(2)], notify_merchant=True)
        handle = await start_mass(r.stack, request)
        assert (await saga_result(handle, MassPayoutResult)).state == SagaState.COMPLETED
        progress: MassProgress = await handle.query(MassPayoutWorkflow.progress)
        ids = sent_ids(progress)
        assert sorted(progress.undelivered_callbacks) == sorted(ids)
        stored = await r.stored(str(request.idempotency_key))
        assert sorted(s.event_id for s in stored) == sorted(ids)
        assert all(s.delivery is DeliveryState.UNDELIVERED and s.kind == "mass" for s in stored)


async def test_a_replay_needs_a_worker_and_says_so(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    async with rig(dev_server, sandbox_server, sandbox, tmp_path) as r:
        nobody = "callbacks-nobody-polls"
        ran = await r.payouts("callbacks", "replay", "--undelivered", task_queue=nobody)
        assert ran.code == 1, (ran.code, ran.out, ran.err)
        assert "Traceback" not in ran.err and len(ran.err.splitlines()) == 1
        assert "no worker is polling task queue" in ran.err and nobody in ran.err
        assert "nothing was resent" in ran.err
