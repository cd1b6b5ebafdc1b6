"""The callback outbox: a real SQLite store, a real merchant over loopback HTTP.

Every attempt is recorded with its outcome; a refusal or a spent budget keeps the event
UNDELIVERED; a replay sends the very same event (id and body) and marks it DELIVERED; a second
store on the same file (the CLI, another worker) sees all of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from activities.callback_outbox import CallbackOutbox
from activities.callback_store import (
    AttemptResult,
    CallbackSelection,
    CallbackStoreUnavailableError,
    DeliveryState,
    Outcome,
)
from activities.callback_store_sqlite import SqliteCallbackStore
from activities.callbacks import (
    CallbackEvent,
    CallbackRejectedError,
    CallbackUnavailableError,
    CallbackUndeliveredError,
)
from starter.service.settings import Settings, SettingsError
from tests.ledger.conftest import LOOP, Switchboard
from tests.ledger.loopback import refusing_url
from tests.ledger.merchant_app import CallbackReceiver, Script, scripted_backend

SECRET = "callback-secret"
BUDGET = timedelta(hours=1)
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def event(sequence: int, key: str = "abc", minutes: int = 0) -> CallbackEvent:
    return CallbackEvent(
        event_id=f"payout-{key}/{sequence}",
        payout_key=key,
        kind="single",
        state="COMPLETED" if sequence > 1 else "RECEIVED",
        amount=Decimal("0.123456789012345678"),
        currency="ETH",
        occurred_at=T0 + timedelta(minutes=minutes or sequence),
        details={"n": sequence},
    )


@pytest_asyncio.fixture(loop_scope="package")
async def store(tmp_path: Path) -> AsyncIterator[SqliteCallbackStore]:
    kept = SqliteCallbackStore(tmp_path / "home" / "callbacks.sqlite3")
    yield kept
    await kept.close()


Outboxes = Callable[[SqliteCallbackStore, str | None], CallbackOutbox]


@pytest_asyncio.fixture(loop_scope="package")
async def outbox() -> AsyncIterator[Outboxes]:
    """Makes outboxes (a worker's view: URL, secret, budget) and closes them after the test."""
    made: list[CallbackOutbox] = []

    def make(store: SqliteCallbackStore, url: str | None) -> CallbackOutbox:
        made.append(CallbackOutbox(store, url=url, secret=SECRET, retry_budget=BUDGET))
        return made[-1]

    yield make
    for each in made:
        await each.close()


def attempt(outcome: Outcome = "unavailable", status: int | None = 503) -> AttemptResult:
    return AttemptResult(at=datetime.now(UTC), via="saga", outcome=outcome, http_status=status)


@LOOP
async def test_an_event_is_kept_once_and_every_attempt_is_numbered(
    store: SqliteCallbackStore,
) -> None:
    first = await store.open(event(1), T0)
    again = await store.open(event(1), T0 + timedelta(hours=5))  # a retry opens it again
    assert again.first_seen_at == first.first_seen_at == T0
    assert again.delivery is DeliveryState.PENDING and again.event == event(1)
    await store.record("payout-abc/1", attempt(), None)
    await store.record("payout-abc/1", attempt(status=None), None)
    done = await store.record("payout-abc/1", attempt("delivered", 204), DeliveryState.DELIVERED)
    assert done.delivery is DeliveryState.DELIVERED and done.attempts == 3
    (stored,) = await store.find(CallbackSelection(event_ids=["payout-abc/1"]), with_attempts=True)
    assert [a.number for a in stored.attempt_log] == [1, 2, 3]
    assert [a.http_status for a in stored.attempt_log] == [503, None, 204]


@LOOP
async def test_delivered_is_final_and_undelivered_can_still_be_delivered(
    store: SqliteCallbackStore,
) -> None:
    await store.open(event(1), T0)
    gave_up = await store.record("payout-abc/1", attempt(), DeliveryState.UNDELIVERED)
    assert gave_up.delivery is DeliveryState.UNDELIVERED and gave_up.undelivered_at
    replayed = await store.record(
        "payout-abc/1", attempt("delivered", 204), DeliveryState.DELIVERED
    )
    assert replayed.delivery is DeliveryState.DELIVERED and replayed.delivered_at
    late = await store.record("payout-abc/1", attempt(), DeliveryState.UNDELIVERED)
    assert late.delivery is DeliveryState.DELIVERED and late.attempts == 3


@LOOP
async def test_another_store_on_the_same_file_sees_and_filters_everything(
    store: SqliteCallbackStore,
) -> None:
    for sequence in (1, 2, 3):
        await store.open(event(sequence), T0)
    await store.open(event(1, key="other"), T0)
    await store.record("payout-abc/2", attempt(), DeliveryState.UNDELIVERED)
    reader = SqliteCallbackStore(store.path)  # the CLI, or a worker on the same machine
    try:
        newest = await reader.find(newest_first=True, limit=2)
        assert [s.event_id for s in newest] == ["payout-abc/3", "payout-abc/2"]
        mine = await reader.find(CallbackSelection(payout_key="abc"))
        assert [s.event_id for s in mine] == ["payout-abc/1", "payout-abc/2", "payout-abc/3"]
        dead = await reader.find(CallbackSelection(undelivered_only=True))
        assert [s.event_id for s in dead] == ["payout-abc/2"]
        assert await reader.get("payout-nothing/1") is None
    finally:
        await reader.close()


@LOOP
async def test_a_store_that_cannot_be_opened_is_retryable(tmp_path: Path) -> None:
    (tmp_path / "a-directory").mkdir()
    broken = SqliteCallbackStore(tmp_path / "a-directory")
    with pytest.raises(CallbackStoreUnavailableError) as caught:
        await broken.open(event(1), T0)
    assert caught.value.retryable is True
    await broken.close()


@LOOP
async def test_delivered_at_the_first_attempt_and_recorded(
    store: SqliteCallbackStore, switchboard: Switchboard, outbox: Outboxes
) -> None:
    receiver = CallbackReceiver(SECRET)
    sender = outbox(store, switchboard.plug(receiver.app()) + "/callbacks")
    await sender.deliver(event(1), elapsed=timedelta(0))
    assert receiver.events == {"payout-abc/1": event(1)}
    (stored,) = await store.find(CallbackSelection(payout_key="abc"), with_attempts=True)
    assert stored.delivery is DeliveryState.DELIVERED
    assert [(a.via, a.outcome, a.http_status) for a in stored.attempt_log] == [
        ("saga", "delivered", 204)
    ]
    await sender.deliver(event(1), elapsed=timedelta(0))  # a retried activity sends nothing more
    assert len(receiver.received) == 1


@LOOP
async def test_retried_within_the_budget_then_kept_undelivered(
    store: SqliteCallbackStore, switchboard: Switchboard, outbox: Outboxes
) -> None:
    sender = outbox(store, switchboard.plug(scripted_backend(Script(status=503))) + "/cb")
    with pytest.raises(CallbackUnavailableError):
        await sender.deliver(event(1), elapsed=timedelta(0))
    assert (await store.get("payout-abc/1")).delivery is DeliveryState.PENDING  # type: ignore[union-attr]
    with pytest.raises(CallbackUndeliveredError) as caught:
        await sender.deliver(event(1), elapsed=BUDGET)
    assert caught.value.retryable is False and "2 attempts" in str(caught.value)
    (stored,) = await store.find(CallbackSelection(undelivered_only=True), with_attempts=True)
    assert stored.event_id == "payout-abc/1" and stored.attempts == 2
    assert [(a.outcome, a.http_status) for a in stored.attempt_log] == [("unavailable", 503)] * 2
    assert "HTTP 503" in (stored.last_error or "")


@LOOP
async def test_a_refusal_is_undelivered_at_once(
    store: SqliteCallbackStore, switchboard: Switchboard, outbox: Outboxes
) -> None:
    receiver = CallbackReceiver("the-merchant-has-another-secret")
    sender = outbox(store, switchboard.plug(receiver.app()) + "/callbacks")
    with pytest.raises(CallbackRejectedError):
        await sender.deliver(event(1), elapsed=timedelta(0))
    stored = await store.get("payout-abc/1")
    assert stored is not None and stored.delivery is DeliveryState.UNDELIVERED
    assert stored.attempts == 1 and "401" in (stored.last_error or "")


@LOOP
async def test_a_replay_sends_the_same_event_and_marks_it_delivered(
    store: SqliteCallbackStore, switchboard: Switchboard, outbox: Outboxes
) -> None:
    # The merchant is down until the budget runs out.
    with refusing_url() as down, pytest.raises(CallbackUndeliveredError):
        await outbox(store, down).deliver(event(2), elapsed=BUDGET)
    receiver = CallbackReceiver(SECRET)
    sender = outbox(store, switchboard.plug(receiver.app()) + "/callbacks")
    outcome = await sender.replay("payout-abc/2")
    assert outcome.delivered and outcome.http_status == 204
    assert outcome.delivery is DeliveryState.DELIVERED
    (received,) = receiver.received
    assert received.headers["event-id"] == "payout-abc/2"
    assert received.body == event(2).to_body()  # the very event, byte for byte
    (stored,) = await store.find(CallbackSelection(event_ids=["payout-abc/2"]), with_attempts=True)
    assert stored.delivery is DeliveryState.DELIVERED
    assert [(a.via, a.outcome) for a in stored.attempt_log] == [
        ("saga", "unavailable"),
        ("replay", "delivered"),
    ]
    missing = await sender.replay("payout-abc/99")
    assert not missing.delivered and missing.error == "not in the store"


@LOOP
async def test_a_replay_plan_names_what_it_lacks_and_what_is_left(
    store: SqliteCallbackStore, outbox: Outboxes
) -> None:
    for sequence in (1, 2, 3):
        await store.open(event(sequence), T0)
    sender = outbox(store, None)
    plan = await sender.plan(CallbackSelection(event_ids=["payout-abc/3", "nope"]))
    assert plan.event_ids == ["payout-abc/3"] and plan.missing == ["nope"] and not plan.more
    first_two = await sender.plan(CallbackSelection(payout_key="abc", limit=2))
    assert first_two.event_ids == ["payout-abc/1", "payout-abc/2"] and first_two.more
    unsent = await sender.replay("payout-abc/1")  # no URL on this worker: says so, sends nothing
    assert not unsent.delivered and "PAYOUTS_CALLBACK_URL" in (unsent.error or "")


def test_a_selection_must_name_something() -> None:
    with pytest.raises(ValueError, match="name event ids"):
        CallbackSelection()


def test_settings_name_the_store_and_the_budget(tmp_path: Path) -> None:
    home = str(tmp_path)
    settings = Settings.from_env({"PAYOUTS_HOME": home})
    assert settings.callback_store == str(tmp_path / "callbacks.sqlite3")
    assert settings.callback_retry_hours == 24
    custom = Settings.from_env(
        {
            "PAYOUTS_HOME": home,
            "PAYOUTS_CALLBACK_STORE": "cb/store.db",
            "PAYOUTS_CALLBACK_RETRY_HOURS": "0.5",
        }
    )
    assert custom.callback_store == str(tmp_path / "cb" / "store.db")
    assert custom.callback_retry_hours == 0.5
    for bad in ("0", "-1", "soon", "nan", "1e9"):
        with pytest.raises(SettingsError, match=r"^PAYOUTS_CALLBACK_RETRY_HOURS: "):
            Settings.from_env({"PAYOUTS_HOME": home, "PAYOUTS_CALLBACK_RETRY_HOURS": bad})
    with pytest.raises(SettingsError, match=r"^PAYOUTS_CALLBACK_STORE: .*not a file"):
        Settings.from_env({"PAYOUTS_HOME": home, "PAYOUTS_CALLBACK_STORE": home})
