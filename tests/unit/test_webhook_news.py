"""Which webhooks the receiver signals by default: what a saga acts on, not progress steps or
exact repeats."""

from __future__ import annotations

import pytest

from calypso.models import WebhookEvent
from starter.service.webhook_news import RecentDeliveries, skip_reason


def event(kind: str, status: str | None) -> WebhookEvent:
    return WebhookEvent(type=kind, payout_status=status, idempotency_key="k")


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("PAYOUT_CHANGE_STATUS", "COMPLETED"),
        ("PAYOUT_CHANGE_STATUS", "FAILED"),
        ("PAYOUT_CHANGE_STATUS", "CANCELED"),
        ("PAYOUT_CHANGE_STATUS", "PARTIAL"),
        ("PAYOUT_CHANGE_STATUS", "PENDING_CONFIRMATION"),
        ("PAYOUT_CHANGE_STATUS", "ON_HOLD"),  # unknown: the saga asks for review
        ("PAYOUT_CHANGE_STATUS", None),
        ("PAYOUT_VALIDATION_ERROR", "CREATED"),
        ("PAYOUT_HASH_RECEIVED", "IN_PROGRESS"),
        ("PAYOUT_SOMETHING_NEW", "IN_PROGRESS"),  # an event type we do not know
    ],
)
def test_news_is_signalled(kind: str, status: str | None) -> None:
    assert skip_reason(event(kind, status)) is None


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("PAYOUT_CHANGE_STATUS", "CREATED"),
        ("PAYOUT_CHANGE_STATUS", "CREATION_IN_PROGRESS"),
        ("PAYOUT_CHANGE_STATUS", "CONFIRMED"),
        ("PAYOUT_CHANGE_STATUS", "IN_PROGRESS"),
        ("PAYOUT_CONFIRMED", "CONFIRMED"),
    ],
)
def test_progress_steps_are_acknowledged_without_a_signal(kind: str, status: str) -> None:
    assert skip_reason(event(kind, status)) == "progress"


def test_recent_deliveries_remember_exact_bodies_within_their_size() -> None:
    recent = RecentDeliveries(size=2)
    assert not recent.seen(b"a")
    recent.delivered(b"a")
    assert recent.seen(b"a") and not recent.seen(b"a ")  # exact bytes only
    recent.delivered(b"b")
    recent.delivered(b"c")
    assert not recent.seen(b"a") and recent.seen(b"b") and recent.seen(b"c")
