"""Replay merchant callbacks: send stored events again, same event ids, and report each outcome.

A workflow rather than a CLI call so that the callback secret stays in the worker: the CLI
(`payouts callbacks replay`) starts it and waits. Events go one at a time, oldest first, so the
merchant sees them in the order they happened. Moves no money and touches no saga.
Workflow id `callback-replay-<uuid>`.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.callback_outbox import CallbackActivities
    from workflows.activity_options import CALLBACK_REPLAY
    from workflows.callback_replay_models import CallbackReplayReport, CallbackSelection


@workflow.defn(name="CallbackReplay")
class CallbackReplayWorkflow:
    @workflow.run
    async def run(self, selection: CallbackSelection) -> CallbackReplayReport:
        plan = await workflow.execute_activity_method(
            CallbackActivities.find_callbacks, selection, **CALLBACK_REPLAY
        )
        report = CallbackReplayReport(missing=plan.missing, more=plan.more)
        for event_id in plan.event_ids:
            outcome = await workflow.execute_activity_method(
                CallbackActivities.redeliver_callback, event_id, **CALLBACK_REPLAY
            )
            report.outcomes.append(outcome)
        return report
