"""Replay the recorded occurrences of a recurring payout against the current code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from starter.service.worker import workflow_runner
from tests.record_recurring_histories import RECURRING_HISTORIES
from workflows.recurring import RecurringPayoutWorkflow

RECORDED = sorted(RECURRING_HISTORIES.glob("*.json"))


def load(file: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(file.stem, file.read_text())


def test_both_occurrence_paths_are_recorded() -> None:
    assert {file.stem for file in RECORDED} >= {"occurrence_paid", "occurrence_fired_again"}


@pytest.mark.parametrize("file", RECORDED, ids=lambda file: file.stem)
async def test_occurrence_history_replays_deterministically(file: Path) -> None:
    replayer = Replayer(
        workflows=[RecurringPayoutWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    outcome = await replayer.replay_workflow(load(file), raise_on_replay_failure=False)
    assert outcome.replay_failure is None, f"{file.stem}: {outcome.replay_failure!r}"
