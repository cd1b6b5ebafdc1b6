"""The current path decides nothing on a time read right after a local activity.

After a local activity the workflow's time is the activity's completion time, recorded in its
marker. A saga that compared that time with a deadline (funds, confirmation, the next poll) took
its branch on a value that a replay under load did not reproduce: a nondeterminism error in CI.
Sagas on the current path (`workflows/saga_paths.py`) decide on the clock only at their first
task and at wake-ups. Here every local activity's recorded completion is moved a day later, or
back to the epoch, and each history recorded on the current path must still replay: a decision
that read those times would take the other branch and fail.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from starter.service.worker import workflow_runner
from tests.record_histories import HISTORIES
from tests.record_mass_histories import MASS_HISTORIES
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_payout import MassPayoutWorkflow
from workflows.saga_paths import CURRENT_PATH
from workflows.single_payout import SinglePayoutWorkflow

ON_CURRENT_PATH = sorted(HISTORIES.glob("*.json")) + sorted(MASS_HISTORIES.glob("*.json"))
DAY = 86_400
MOVES: dict[str, Callable[[int], int]] = {
    "a day later": lambda seconds: seconds + DAY,
    "to the epoch": lambda _seconds: 0,
}
TEXTS = {file: file.read_text() for file in ON_CURRENT_PATH}


def local_activity_markers(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each local activity marker's data (seq, type, complete_time, ...), decoded in place."""
    markers = []
    for event in events:
        attributes = event.get("markerRecordedEventAttributes")
        if attributes and attributes["markerName"] == "core_local_activity":
            markers.append(attributes["details"]["data"]["payloads"][0])
    return markers


def with_completions_moved(text: str, move: Callable[[int], int]) -> tuple[str, int]:
    """The history with every local activity's complete_time replaced by `move(seconds)`."""
    history = json.loads(text)
    markers = local_activity_markers(history["events"])
    for payload in markers:
        data = json.loads(base64.b64decode(payload["data"]))
        data["complete_time"]["seconds"] = move(data["complete_time"]["seconds"])
        payload["data"] = base64.b64encode(json.dumps(data).encode()).decode()
    return json.dumps(history), len(markers)


def _patch_ids(text: str) -> set[str]:
    ids = set()
    for event in json.loads(text)["events"]:
        attributes = event.get("markerRecordedEventAttributes")
        if attributes and attributes["markerName"] == "core_patch":
            payload = attributes["details"]["patch-data"]["payloads"][0]
            ids.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return ids


def test_the_recordings_are_on_the_current_path_and_run_local_activities() -> None:
    """Guards the test below: it is about histories that took the current path."""
    for file, text in TEXTS.items():
        assert CURRENT_PATH in _patch_ids(text), f"{file.name} predates {CURRENT_PATH}"
    moved = [with_completions_moved(TEXTS[file], lambda s: s)[1] for file in ON_CURRENT_PATH]
    assert sum(moved) > 0, "no local activity in any recording"


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("file", ON_CURRENT_PATH, ids=lambda file: file.stem)
async def test_local_activity_completion_times_decide_nothing(file: Path, move: str) -> None:
    text, _ = with_completions_moved(TEXTS[file], MOVES[move])
    replayer = Replayer(
        workflows=[SinglePayoutWorkflow, MassPayoutWorkflow, MassDealWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    history = WorkflowHistory.from_json(file.stem, text)
    outcome = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert outcome.replay_failure is None, f"{file.stem} ({move}): {outcome.replay_failure!r}"
