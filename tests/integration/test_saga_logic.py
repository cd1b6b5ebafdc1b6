"""The saga's logic with stand-in activities (same names as PayoutActivities), for orderings the
real sandbox cannot produce on demand: a webhook that beats the create call's response, a resend
that succeeds, a storm of duplicate webhooks, an execution date that passes during admission."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest_asyncio
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.ledger import EntryState, SqliteLedger
from starter.service.worker import workflow_runner
from tests.history_clock import MOVES, with_completions_moved
from tests.integration.conftest import timeline_notes
from tests.integration.saga_standins import FEE, StandInProvider, provider_payout, saga_input
from workflows.execution_schedule import SHORTEST_WAIT
from workflows.keys import attempt_key
from workflows.payout_models import ProviderEvent, ResendPolicy
from workflows.payout_models import SagaState as S
from workflows.single_payout import SinglePayoutWorkflow


@pytest_asyncio.fixture
async def provider(
    time_skipping: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[StandInProvider]:
    ledger = SqliteLedger(tmp_path / "ledger.sqlite3")
    await ledger.fund("default", "USDT_TRX", Decimal(1000))
    yield StandInProvider(time_skipping.client, ledger)
    await ledger.close()


async def test_webhook_before_the_create_response_is_applied(provider: StandInProvider) -> None:
    request = saga_input()
    key = attempt_key(request.idempotency_key, 0)
    provider.early_events[key] = [
        ProviderEvent(
            type="PAYOUT_CHANGE_STATUS",
            provider_key=key,
            provider_id="900001",
            status="COMPLETED",
            tx_hash="0xfeed",
        )
    ]
    provider.created[key] = provider_payout("900001", "CREATED")
    provider.settled[key] = provider_payout("900001", "COMPLETED", fee=FEE, tx_hash="0xfeed")

    result, status = await provider.run(request)

    assert result.state == S.COMPLETED, result.reason
    assert result.tx_hash == "0xfeed" and result.fee == FEE
    # The early hint was kept, applied after the create response, then confirmed via the API.
    assert ("COMPLETED", None) in timeline_notes(status, "webhook")
    assert timeline_notes(status, "api") == [("CREATED", None), ("COMPLETED", None)]
    assert not timeline_notes(status, "poll"), "the webhook, not a poll, should finish it"
    assert provider.create_calls == [key]
    assert provider.fetch_calls == [key]
    entry = await provider.ledger.entry(str(request.idempotency_key))
    assert entry is not None and entry.state == EntryState.SETTLED


async def test_resend_after_a_failure_can_succeed(provider: StandInProvider) -> None:
    request = saga_input(resend=ResendPolicy(max_resends=2, delay_seconds=1))
    first, second = (attempt_key(request.idempotency_key, n) for n in (0, 1))
    provider.created[first] = provider_payout("900001", "FAILED")
    provider.created[second] = provider_payout("900002", "CREATED")
    provider.settled[second] = provider_payout("900002", "COMPLETED", fee=FEE, tx_hash="0xbeef")

    result, status = await provider.run(request)

    assert result.state == S.COMPLETED, result.reason
    assert result.attempts == 2 and result.provider_id == "900002"
    assert provider.create_calls == [first, second]
    assert provider.fetch_calls == [second], "attempt 0 was final in its create response"
    assert [(a.number, a.provider_state) for a in status.attempts] == [
        (0, "FAILED"),
        (1, "COMPLETED"),
    ]
    states = [state for state, _ in timeline_notes(status, "saga")]
    assert states.count(S.CREATING) == 2 and S.WAITING_TO_RESEND in states
    entry = await provider.ledger.entry(str(request.idempotency_key))
    assert entry is not None and entry.state == EntryState.SETTLED


async def test_callback_event_ids_stay_unique_after_a_webhook_storm(
    provider: StandInProvider,
) -> None:
    # 250 copies of one webhook fill the 200-entry timeline; the state changes that follow
    # (resend, success) must still reach the merchant under ids it has not seen.
    request = saga_input(notify_merchant=True, resend=ResendPolicy(max_resends=1, delay_seconds=1))
    first, second = (attempt_key(request.idempotency_key, n) for n in (0, 1))
    storm = ProviderEvent(
        type="PAYOUT_CHANGE_STATUS", provider_key=first, provider_id="900001", status="IN_PROGRESS"
    )
    provider.early_events[first] = [storm] * 250
    provider.created[first] = provider_payout("900001", "CREATED")
    provider.settled[first] = provider_payout("900001", "FAILED")
    provider.created[second] = provider_payout("900002", "CREATED")
    provider.settled[second] = provider_payout("900002", "COMPLETED", fee=FEE)

    result, status = await provider.run(request)

    assert result.state == S.COMPLETED, result.reason
    assert ("IN_PROGRESS", "ignored: duplicate") in timeline_notes(status, "webhook")
    ids = [event.event_id for event in provider.callbacks]
    reused = {event_id: n for event_id, n in Counter(ids).items() if n > 1}
    assert not reused, f"callback event ids sent more than once: {reused}"
    assert provider.callbacks[-1].state == S.COMPLETED


async def test_an_execution_date_passed_during_admission_still_waits_on_a_timer(
    provider: StandInProvider, time_skipping: WorkflowEnvironment
) -> None:
    """At its first task the saga sees the date ahead; admission (a local activity) outlasts
    it. The saga still starts a timer, of 1 ms, instead of deciding again on the time the
    admission finished: a replay that sees another completion time takes the same path."""
    provider.admission_seconds = 1.5
    now = await time_skipping.get_current_time()
    request = saga_input(execution_date=now + timedelta(seconds=0.5))
    key = attempt_key(request.idempotency_key, 0)
    provider.created[key] = provider_payout("900003", "CREATED")
    provider.settled[key] = provider_payout("900003", "COMPLETED", fee=FEE)
    provider.early_events[key] = [
        ProviderEvent(
            type="PAYOUT_CHANGE_STATUS", provider_key=key, provider_id="900003", status="COMPLETED"
        )
    ]

    result, status = await provider.run(request)

    assert result.state == S.COMPLETED, result.reason
    assert S.SCHEDULED in [state for state, _ in timeline_notes(status, "saga")]
    history = provider.histories[-1]
    timers = [
        event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
        for event in history.events
        if event.HasField("timer_started_event_attributes")
    ]
    assert timers[0] == SHORTEST_WAIT
    replayer = Replayer(
        workflows=[SinglePayoutWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    for move in MOVES.values():
        moved, markers = with_completions_moved(history.to_json_dict(), move)
        assert markers >= 2  # admission and the funds check at least
        replay = await replayer.replay_workflow(
            WorkflowHistory.from_json(history.workflow_id, moved), raise_on_replay_failure=False
        )
        assert replay.replay_failure is None, repr(replay.replay_failure)
