"""Moving the completion times that local activities recorded in a history, to prove that a
saga decides nothing on them (tests/test_replay_clock.py, tests/integration/test_saga_logic.py).

After a local activity the workflow's time is the activity's completion time, kept in its
marker; a replay reads it from there. A decision that read that time would take another branch
once it is moved, and the replay would fail with a nondeterminism error.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

DAY = 86_400
MOVES: dict[str, Callable[[int], int]] = {
    "a day later": lambda seconds: seconds + DAY,
    "to the epoch": lambda _seconds: 0,
}


def local_activity_markers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each local activity marker's data payload (seq, type, complete_time, ...)."""
    markers = []
    for event in events:
        attributes = event.get("markerRecordedEventAttributes")
        if attributes and attributes["markerName"] == "core_local_activity":
            markers.append(attributes["details"]["data"]["payloads"][0])
    return markers


def with_completions_moved(
    history: dict[str, Any], move: Callable[[int], int]
) -> tuple[dict[str, Any], int]:
    """A copy of the history (its JSON form) with every local activity's complete_time replaced
    by `move(seconds)`, and how many there were."""
    moved = json.loads(json.dumps(history))
    markers = local_activity_markers(moved["events"])
    for payload in markers:
        data = json.loads(base64.b64decode(payload["data"]))
        data["complete_time"]["seconds"] = move(data["complete_time"]["seconds"])
        payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
    return moved, len(markers)
