"""The screening activity through `ActivityEnvironment`, against the test hook over loopback
(tests/screening_hook.py): decisions, chunks and heartbeats, and every way a hook can fail —
each one raises, retryable, and nothing is ever allowed by default."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
import structlog
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.screening import (
    ScreenedRecipient,
    ScreeningActivities,
    ScreeningRequest,
    ScreeningResult,
    verify_screening_signature,
)
from calypso import wire
from tests.ledger.loopback import refusing_url
from tests.screening_hook import ScreeningHook, running_screening_hook

SECRET_ENV = "PAYOUTS_TEST_SCREENING_SECRET"


def address(index: int) -> str:
    return f"TScreen{index:06d}"


def recipients(count: int) -> list[ScreenedRecipient]:
    return [
        ScreenedRecipient(index=i, address=address(i), amount=Decimal("10.000000000000000001") + i)
        for i in range(count)
    ]


def screening_request(url: str, count: int = 5, **overrides: Any) -> ScreeningRequest:
    fields: dict[str, Any] = {
        "payout_key": "mass-7",
        "kind": "mass",
        "currency": "USDT_TRX",
        "sub_account": "acme",
        "url": url,
        "secret_env": SECRET_ENV,
        "recipients": recipients(count),
    }
    fields.update(overrides)
    return ScreeningRequest(**fields)


@pytest_asyncio.fixture
async def hook(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ScreeningHook]:
    async with running_screening_hook() as running:
        monkeypatch.setenv(SECRET_ENV, running.secret)
        yield running


@pytest_asyncio.fixture
async def screening() -> AsyncIterator[ScreeningActivities]:
    activities = ScreeningActivities()
    yield activities
    await activities.close()


async def screen(
    activities: ScreeningActivities, request: ScreeningRequest, beats: list[Any] | None = None
) -> ScreeningResult:
    env = ActivityEnvironment()
    if beats is not None:
        env.on_heartbeat = lambda *details: beats.append(details[0])
    result: ScreeningResult = await env.run(activities.screen_recipients, request)
    return result


async def screening_fails(
    activities: ScreeningActivities, request: ScreeningRequest, match: str
) -> ApplicationError:
    with pytest.raises(ApplicationError, match=match) as raised:
        await screen(activities, request)
    return raised.value


async def test_decisions_follow_the_hook(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    hook.deny.add(address(1))
    hook.review.add(address(3))
    with structlog.testing.capture_logs() as logs:
        result = await screen(screening, screening_request(hook.url))

    assert [(d.index, d.decision, d.reason) for d in result.decisions] == [
        (0, "allow", None),
        (1, "deny", hook.deny_reason),
        (2, "allow", None),
        (3, "review", hook.review_reason),
        (4, "allow", None),
    ]
    [sent] = hook.requests
    assert sent.verified and sent.status == 200
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["payouts-signature"].startswith("v1=")
    verify_screening_signature(sent.body, sent.headers, hook.secret, now=time.time())
    assert sent.payload == {
        "payoutKey": "mass-7",
        "kind": "mass",
        "currency": "USDT_TRX",
        "subAccount": "acme",
        "recipients": [
            {"index": r.index, "address": r.address, "amount": r.amount} for r in recipients(5)
        ],
    }
    assert b'"amount":14.000000000000000001' in sent.body  # exact, a JSON number
    assert hook.secret.encode() not in sent.body
    said = repr(logs)
    assert [entry["event"] for entry in logs] == ["screening.started", "screening.done"]
    assert {key: logs[-1][key] for key in ("allow", "deny", "review")} == {
        "allow": 3,
        "deny": 1,
        "review": 1,
    }
    assert "TScreen" not in said and hook.secret not in said and hook.deny_reason not in said


async def test_a_list_goes_in_chunks_with_a_heartbeat_after_each(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    hook.deny.update({address(0), address(777), address(1199)})
    beats: list[Any] = []
    result = await screen(screening, screening_request(hook.url, count=1200), beats)

    assert [len(request.indexes) for request in hook.requests] == [500, 500, 200]
    assert [i for request in hook.requests for i in request.indexes] == list(range(1200))
    assert all(request.verified for request in hook.requests)
    assert beats == [
        {"chunks": 1, "recipients": 500},
        {"chunks": 2, "recipients": 1000},
        {"chunks": 3, "recipients": 1200},
    ]
    assert [d.index for d in result.decisions] == list(range(1200))
    assert [d.index for d in result.decisions if d.decision == "deny"] == [0, 777, 1199]


async def test_decisions_come_back_in_the_request_order(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    scrambled = [recipients(9)[i] for i in (8, 2, 5, 0, 7, 1, 6, 3, 4)]
    hook.deny.add(address(5))
    hook.tamper = lambda reply: {"decisions": list(reversed(reply["decisions"]))}
    result = await screen(
        screening, screening_request(hook.url, recipients=scrambled, chunk_size=4)
    )
    assert [d.index for d in result.decisions] == [8, 2, 5, 0, 7, 1, 6, 3, 4]
    assert [d.decision for d in result.decisions] == ["allow"] * 2 + ["deny"] + ["allow"] * 6


async def test_a_hook_that_never_answers_raises(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    hook.hang.add(address(700))  # in the second chunk
    started = time.monotonic()
    error = await screening_fails(
        screening,
        screening_request(hook.url, count=1000, timeout_seconds=0.5),
        match="chunk 2/2: no answer within 0.5 s",
    )
    assert time.monotonic() - started < 10
    assert error.type == "ScreeningUnavailableError"
    assert not error.non_retryable
    assert len(hook.requests) == 2 and hook.requests[1].status is None  # still hanging


async def test_a_failing_hook_raises_and_the_retry_succeeds(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    hook.fail_next = 1
    hook.deny.add(address(2))
    request = screening_request(hook.url)
    error = await screening_fails(screening, request, match="answered HTTP 500")
    assert error.type == "ScreeningUnavailableError" and not error.non_retryable

    result = await screen(screening, request)  # what Temporal's retry does
    assert [d.decision for d in result.decisions] == ["allow", "allow", "deny", "allow", "allow"]
    assert [request.status for request in hook.requests] == [500, 200]


async def test_a_busy_hook_sets_the_next_retry_delay(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    hook.fail_next, hook.fail_status, hook.fail_retry_after = 1, 503, 7
    error = await screening_fails(screening, screening_request(hook.url), match="HTTP 503")
    assert not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)

    hook.fail_next, hook.fail_status, hook.fail_retry_after = 1, 429, 86_400
    error = await screening_fails(screening, screening_request(hook.url), match="HTTP 429")
    assert error.next_retry_delay == timedelta(seconds=600)  # capped


async def test_a_failure_in_a_later_chunk_fails_the_whole_screening(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    calls = 0

    def second_reply_drops_one(reply: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"decisions": reply["decisions"][1:]} if calls == 2 else reply

    hook.tamper = second_reply_drops_one
    error = await screening_fails(
        screening,
        screening_request(hook.url, count=30, chunk_size=10),
        match="chunk 2/3: decisions do not cover the indexes sent: 1 missing \\(index 10\\)",
    )
    assert error.type == "ScreeningReplyError" and not error.non_retryable
    assert len(hook.requests) == 2  # the third chunk is not sent


def drop_last(reply: dict[str, Any]) -> dict[str, Any]:
    return {"decisions": reply["decisions"][:-1]}


def add_one(reply: dict[str, Any]) -> dict[str, Any]:
    return {"decisions": [*reply["decisions"], {"index": 99, "decision": "allow"}]}


def unknown_value(reply: dict[str, Any]) -> dict[str, Any]:
    first, *rest = reply["decisions"]
    return {"decisions": [{**first, "decision": "approve"}, *rest]}


def everyone_allowed(reply: dict[str, Any]) -> dict[str, Any]:
    return {"allow": True}


@pytest.mark.parametrize(
    ("tamper", "match"),
    [
        (lambda reply: b"<html>Welcome</html>", "reply is not a decisions document: not JSON"),
        (lambda reply: b"", "not JSON"),
        (everyone_allowed, "decisions: Field required"),
        (drop_last, "1 missing \\(index 4\\)"),
        (add_one, "1 not sent \\(index 99\\)"),
        (unknown_value, "decisions.0.decision: Input should be 'allow', 'deny' or 'review'"),
    ],
)
async def test_a_reply_that_does_not_decide_each_recipient_raises(
    hook: ScreeningHook, screening: ScreeningActivities, tamper: Any, match: str
) -> None:
    hook.tamper = tamper
    error = await screening_fails(screening, screening_request(hook.url), match=match)
    assert error.type == "ScreeningReplyError"
    assert not error.non_retryable
    assert "TScreen" not in str(error)


async def test_a_signature_the_hook_refuses_raises(
    hook: ScreeningHook, screening: ScreeningActivities, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-hooks-secret")
    error = await screening_fails(screening, screening_request(hook.url), match="HTTP 401")
    assert not error.non_retryable
    [refused] = hook.requests
    assert not refused.verified and refused.status == 401


async def test_no_connection_raises(screening: ScreeningActivities, hook: ScreeningHook) -> None:
    with refusing_url() as url:
        error = await screening_fails(
            screening, screening_request(url + "/screen"), match="ConnectError"
        )
    assert error.type == "ScreeningUnavailableError" and not error.non_retryable


async def test_a_missing_secret_fails_for_good_before_any_post(
    hook: ScreeningHook, screening: ScreeningActivities, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV)
    error = await screening_fails(
        screening, screening_request(hook.url), match=f"'{SECRET_ENV}' is not set or empty"
    )
    assert error.type == "ScreeningNotConfiguredError"
    assert error.non_retryable
    assert hook.requests == []

    monkeypatch.setenv(SECRET_ENV, "")
    error = await screening_fails(screening, screening_request(hook.url), match=SECRET_ENV)
    assert error.non_retryable and hook.requests == []


async def test_the_pool_serves_many_screenings(
    hook: ScreeningHook, screening: ScreeningActivities
) -> None:
    for _ in range(3):
        result = await screen(screening, screening_request(hook.url, count=2))
        assert [d.decision for d in result.decisions] == ["allow", "allow"]
    assert len(hook.verified) == 3
    assert wire.loads(hook.requests[0].body) == hook.requests[0].payload
