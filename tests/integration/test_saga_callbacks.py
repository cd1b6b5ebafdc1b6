"""The merchant's backend hears about every state change of a saga, signed, once per event id."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from activities.callbacks import CallbackEvent, InvalidCallbackError, verify_callback
from activities.ledger import EntryState
from activities.payout_activities import PayoutActivities
from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.service.asgi_runner import serve_in_background
from starter.service.worker import build_worker
from tests.contract.conftest import Control
from tests.integration.conftest import ledger_state, saga_status, start_stack
from workflows.payout_models import PayoutResult, PayoutStatus, SagaState

SECRET = "merchant-callback-secret"


@dataclass
class Merchant:
    """The merchant's endpoint: verifies the signature, keeps each event id once (409 after);
    with `refuse`, it answers 400 to everything (a permanent refusal)."""

    events: dict[str, CallbackEvent] = field(default_factory=dict)
    deliveries: int = 0
    rejected: list[str] = field(default_factory=list)
    refuse: bool = False

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/callbacks")
        async def receive(request: Request) -> Response:
            self.deliveries += 1
            if self.refuse:
                return Response(status_code=400)
            try:
                event = verify_callback(await request.body(), request.headers, SECRET)
            except InvalidCallbackError as exc:
                self.rejected.append(str(exc))
                return Response(status_code=401)
            if event.event_id in self.events:
                return Response(status_code=409)
            self.events[event.event_id] = event
            return Response(status_code=204)

        return app


def _sequence(event: CallbackEvent) -> int:
    return int(event.event_id.rsplit("/", 1)[1])


async def _pay_with_callbacks(
    env: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
    merchant: Merchant,
) -> tuple[PayoutResult, PayoutStatus, EntryState | None]:
    """One saga with `notify_merchant=True` against `merchant`; result, status, ledger state."""
    async with (
        serve_in_background(merchant.app()) as merchant_url,
        start_stack(env.client, sandbox_server, sandbox, tmp_path, run_worker=False) as stack,
    ):
        activities = PayoutActivities(
            stack.calypso,
            stack.ledger,
            callback_url=f"{merchant_url}/callbacks",
            callback_secret=SECRET,
        )
        saga_input = stack.payout(notify_merchant=True)
        try:
            async with build_worker(stack.client, activities, stack.task_queue):
                handle = await stack.start(saga_input)
                result = await saga_result(handle, PayoutResult)
                status = await saga_status(handle)  # a query needs a worker
        finally:
            await activities.close()
        return result, status, await ledger_state(stack, saga_input)


async def test_merchant_receives_every_state_change_and_the_final_one(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    merchant = Merchant()
    result, status, ledger = await _pay_with_callbacks(
        time_skipping, sandbox_server, sandbox, tmp_path, merchant
    )

    assert result.state == SagaState.COMPLETED, result.reason
    assert ledger == EntryState.SETTLED
    assert not merchant.rejected
    # Every delivery was a new event: no two state changes share an id.
    assert merchant.deliveries == len(merchant.events)
    events = sorted(merchant.events.values(), key=_sequence)
    assert all(e.payout_key == str(result.key) for e in events)
    assert all(e.event_id.startswith(f"payout-{result.key}/") for e in events)
    saga_states = [e.state for e in status.timeline if e.event == "state"]
    assert [e.state for e in events] == saga_states
    assert [e.state for e in events][:2] == [SagaState.RECEIVED, SagaState.CHECKING_FUNDS]
    final = events[-1]
    assert final.state == SagaState.COMPLETED
    assert final.provider_state == "COMPLETED"
    assert final.tx_hash == result.tx_hash and final.fee == result.fee


async def test_a_merchant_refusing_callbacks_does_not_undo_a_paid_payout(
    time_skipping: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    tmp_path: Path,
) -> None:
    # The money has moved and the books are settled: a 400 from the merchant's callback
    # endpoint is the merchant's problem to fix, not a reason to report the payout FAILED.
    merchant = Merchant(refuse=True)
    try:
        result, status, ledger = await _pay_with_callbacks(
            time_skipping, sandbox_server, sandbox, tmp_path, merchant
        )
    except WorkflowFailureError as failure:
        cause = failure.cause
        activity = getattr(cause, "activity_type", None)
        pytest.fail(f"the saga failed over a refused callback: {activity}: {cause.__cause__}")
    assert merchant.deliveries > 0
    assert result.state == SagaState.COMPLETED, result.reason
    assert ledger == EntryState.SETTLED
    # The refusals are written down where an operator looks.
    undelivered = [e for e in status.timeline if e.event == "callback"]
    assert undelivered and all("not delivered" in (e.note or "") for e in undelivered)
