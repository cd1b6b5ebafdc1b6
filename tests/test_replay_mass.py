"""Replay the recorded mass-payout histories (parent and deal) against the current code."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from starter.service.worker import workflow_runner
from tests.record_mass_histories import MASS_HISTORIES, PATHS
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_payout import MassPayoutWorkflow

RECORDED = sorted(MASS_HISTORIES.glob("*.json"))
EARLIER = sorted(MASS_HISTORIES.glob("v*/*.json"))  # by earlier code; see test_replay.py


def load(file: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(file.stem, file.read_text())


def test_every_mass_path_has_its_histories() -> None:
    names = {file.name for file in RECORDED}
    missing = {f"{path.name}.json" for path in PATHS} - names
    assert not missing, f"record them: python -m tests.record_mass_histories ({missing})"
    assert any(name.endswith(".deal-0.json") for name in names)


@pytest.mark.parametrize(
    "file", RECORDED + EARLIER, ids=lambda file: file.parent.name + "/" + file.stem
)
async def test_mass_history_replays_deterministically(file: Path) -> None:
    replayer = Replayer(
        workflows=[MassPayoutWorkflow, MassDealWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    outcome = await replayer.replay_workflow(load(file), raise_on_replay_failure=False)
    assert outcome.replay_failure is None, f"{file.stem}: {outcome.replay_failure!r}"
