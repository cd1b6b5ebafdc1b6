"""Replay every recorded saga history (tests/histories/*.json) against the current workflow code.

A payout sleeping until next month replays against whatever code the worker runs by then; a
change that alters the commands a recorded history expects fails here, before it fails in
production. See tests/histories/README.md for re-recording and `workflow.patched`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from starter.service.worker import workflow_runner
from tests.record_histories import HISTORIES, PATHS
from workflows.outcomes import FAILURE_TYPES
from workflows.payout_models import PayoutInput, PayoutResult, SagaState
from workflows.single_payout import SinglePayoutWorkflow

RECORDED = sorted(HISTORIES.glob("*.json"))
# Recorded by earlier code and kept: sagas those workers started must keep replaying. v1: before
# a payout that did not pay ended its workflow failed (workflows/outcomes.py); v2: before the
# short steps ran as local activities (workflows/activity_options.py).
EARLIER = sorted(HISTORIES.glob("v*/*.json"))
ALWAYS_COMPLETED = sorted(HISTORIES.glob("v1/*.json"))
EXPECTED = {path.name: path.expect for path in PATHS}


def load(file: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(file.stem, file.read_text())


def replayer() -> Replayer:
    return Replayer(
        workflows=[SinglePayoutWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


def test_every_saga_path_has_a_recorded_history() -> None:
    missing = EXPECTED.keys() - {file.stem for file in RECORDED}
    assert not missing, f"record them: python -m tests.record_histories {' '.join(missing)}"


@pytest.mark.parametrize(
    "file", RECORDED + EARLIER, ids=lambda file: f"{file.parent.name}/{file.stem}"
)
def test_recorded_history_ended_as_its_path_says(file: Path) -> None:
    """Guards the recordings themselves: each file is a whole run ending in its path's state,
    paid or not as the workflow's own status shows (v1 recordings always completed)."""
    result = ended_with(load(file), earlier=file in ALWAYS_COMPLETED)
    if file.stem in EXPECTED:
        assert result.state == EXPECTED[file.stem]


def ended_with(history: WorkflowHistory, *, earlier: bool) -> PayoutResult:
    """The result a recorded saga ended with: in its completion, or in its failure's details."""
    last = history.events[-1]
    converter = pydantic_data_converter.payload_converter
    if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        payloads = last.workflow_execution_completed_event_attributes.result.payloads
        (result,) = converter.from_payloads(payloads, [PayoutResult])
        assert isinstance(result, PayoutResult)
        assert earlier or result.state == SagaState.COMPLETED, "only a paid payout completes"
        return result
    assert not earlier, "earlier recordings ended completed whatever the outcome"
    assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED
    failure = last.workflow_execution_failed_event_attributes.failure
    (result,) = converter.from_payloads(
        failure.application_failure_info.details.payloads, [PayoutResult]
    )
    assert isinstance(result, PayoutResult)
    assert failure.application_failure_info.type == FAILURE_TYPES[result.state]
    return result


@pytest.mark.parametrize(
    "file", RECORDED + EARLIER, ids=lambda file: file.parent.name + "/" + file.stem
)
async def test_recorded_history_replays_deterministically(file: Path) -> None:
    outcome = await replayer().replay_workflow(load(file), raise_on_replay_failure=False)
    assert outcome.replay_failure is None, f"{file.stem}: {outcome.replay_failure!r}"


@workflow.defn(name="SinglePayout")
class _ChangedSaga:
    """Stands for a careless edit: same workflow type, different first command."""

    @workflow.run
    async def run(self, request: PayoutInput) -> None:
        await workflow.sleep(timedelta(seconds=1))


async def test_replay_catches_a_nondeterministic_change() -> None:
    """The control: without it, a replayer that checked nothing would pass the tests above."""
    careless = Replayer(
        workflows=[_ChangedSaga],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    outcome = await careless.replay_workflow(
        load(HISTORIES / "completed.json"), raise_on_replay_failure=False
    )
    assert isinstance(outcome.replay_failure, workflow.NondeterminismError), outcome
