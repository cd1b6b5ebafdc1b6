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
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from starter.service.worker import workflow_runner
from tests.history_clock import MOVES, local_activity_markers, with_completions_moved
from tests.record_histories import HISTORIES
from tests.record_mass_histories import MASS_HISTORIES
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_payout import MassPayoutWorkflow
from workflows.saga_paths import CURRENT_PATH
from workflows.single_payout import SinglePayoutWorkflow

ON_CURRENT_PATH = sorted(HISTORIES.glob("*.json")) + sorted(MASS_HISTORIES.glob("*.json"))
HISTORY = {file: json.loads(file.read_text()) for file in ON_CURRENT_PATH}


def _patch_ids(history: dict[str, Any]) -> set[str]:
    ids = set()
    for event in history["events"]:
        attributes = event.get("markerRecordedEventAttributes")
        if attributes and attributes["markerName"] == "core_patch":
            payload = attributes["details"]["patch-data"]["payloads"][0]
            ids.add(json.loads(base64.b64decode(payload["data"]))["id"])
    return ids


def test_the_recordings_are_on_the_current_path_and_run_local_activities() -> None:
    """Guards the test below: it is about histories that took the current path."""
    for file, history in HISTORY.items():
        assert CURRENT_PATH in _patch_ids(history), f"{file.name} predates {CURRENT_PATH}"
    markers = [len(local_activity_markers(history["events"])) for history in HISTORY.values()]
    assert sum(markers) > 0, "no local activity in any recording"


@pytest.mark.parametrize("move", MOVES)
@pytest.mark.parametrize("file", ON_CURRENT_PATH, ids=lambda file: file.stem)
async def test_local_activity_completion_times_decide_nothing(file: Path, move: str) -> None:
    moved, _ = with_completions_moved(HISTORY[file], MOVES[move])
    replayer = Replayer(
        workflows=[SinglePayoutWorkflow, MassPayoutWorkflow, MassDealWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    history = WorkflowHistory.from_json(file.stem, moved)
    outcome = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert outcome.replay_failure is None, f"{file.stem} ({move}): {outcome.replay_failure!r}"
