"""One occurrence of a payout schedule: derive the key, start the saga once, and (overlap `hold`)
wait for it to end.

The schedule's action starts this workflow (`recurring-payout-<schedule>-<scheduled time>`).
It reads the occurrence's scheduled time from `TemporalScheduledStartTime`, which Temporal sets on
every workflow a schedule starts — the nominal time for a regular, caught-up or backfilled
occurrence, the moment of the request (to the second) for a manual trigger — and falls back to
its own start time when started by hand. The saga's key is `occurrence_key(schedule, time)`, so
every firing of one scheduled time starts the same saga: the child start is refused once the id
exists (`REJECT_DUPLICATE`), running or closed, and that firing ends saying so.

The saga is a child with `ParentClosePolicy.ABANDON` and an abandoning cancellation: ending,
canceling or terminating an occurrence never touches money in flight.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, ChildWorkflowError, WorkflowAlreadyStartedError
from temporalio.workflow import ChildWorkflowCancellationType, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows import search_attributes as sa
    from workflows.keys import mass_payout_workflow_id, single_payout_workflow_id
    from workflows.mass_models import MassPayoutInput, MassPayoutResult
    from workflows.outcomes import FAILURE_TYPES
    from workflows.payout_models import PayoutInput, PayoutResult
    from workflows.recurring_models import (
        OCCURRENCE_WORKFLOW,
        Overlap,
        RecurringPayoutInput,
        RecurringPayoutResult,
        occurrence_key,
        scheduled_second,
    )

# Set by Temporal on every workflow a schedule starts.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
# The saga's memo names the schedule and occurrence that started it.
MEMO_SCHEDULE = "recurringSchedule"
MEMO_SCHEDULED_TIME = "scheduledTime"
_STATE_OF_FAILURE = {failure: state.value for state, failure in FAILURE_TYPES.items()}


@workflow.defn(name=OCCURRENCE_WORKFLOW)
class RecurringPayoutWorkflow:
    @workflow.run
    async def run(self, occurrence: RecurringPayoutInput) -> RecurringPayoutResult:
        info = workflow.info()
        scheduled = scheduled_second(
            info.typed_search_attributes.get(SCHEDULED_START) or info.start_time
        )
        key = occurrence_key(occurrence.schedule_id, scheduled)
        saga = saga_input(occurrence, key)
        mass = isinstance(saga, MassPayoutInput)
        workflow_id = mass_payout_workflow_id(key) if mass else single_payout_workflow_id(key)
        result = RecurringPayoutResult(
            schedule_id=occurrence.schedule_id,
            scheduled_time=scheduled,
            key=key,
            kind=occurrence.kind,
            workflow_id=workflow_id,
            started=True,
        )
        try:
            handle = await workflow.start_child_workflow(
                "MassPayout" if mass else "SinglePayout",
                saga,
                id=workflow_id,
                result_type=MassPayoutResult if mass else PayoutResult,
                parent_close_policy=ParentClosePolicy.ABANDON,
                cancellation_type=ChildWorkflowCancellationType.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                memo={
                    **occurrence.saga_memo,
                    MEMO_SCHEDULE: occurrence.schedule_id,
                    MEMO_SCHEDULED_TIME: scheduled.isoformat(),
                },
                search_attributes=_saga_search_attributes(saga),
                static_summary=_summary(saga, occurrence.schedule_id, scheduled),
            )
        except WorkflowAlreadyStartedError:
            workflow.set_current_details(f"{workflow_id} was already started: nothing to do")
            return result.model_copy(update={"started": False})
        if occurrence.overlap is Overlap.ALLOW:
            return result
        workflow.set_current_details(f"waiting for {workflow_id} to end (overlap: hold)")
        state, reason = await _ending(handle)
        return result.model_copy(update={"state": state, "reason": reason})


def saga_input(occurrence: RecurringPayoutInput, key: Any) -> PayoutInput | MassPayoutInput:
    """The saga's input: the schedule's request (with its `requested_by`), the deployment's
    knobs, the derived key."""
    fields: dict[str, Any] = {**dict(occurrence.knobs), "idempotency_key": key}
    if occurrence.mass is not None:
        target: type[PayoutInput] | type[MassPayoutInput] = MassPayoutInput
        fields = {**dict(occurrence.mass), **fields}
    else:
        assert occurrence.payout is not None
        target = PayoutInput
        fields = {**dict(occurrence.payout), **fields}
    return target(**fields)


async def _ending(handle: workflow.ChildWorkflowHandle[Any, Any]) -> tuple[str, str | None]:
    """How the saga ended: its final state, and why when it did not pay."""
    try:
        ended: PayoutResult | MassPayoutResult = await handle
    except ChildWorkflowError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type in _STATE_OF_FAILURE:
            return _STATE_OF_FAILURE[cause.type], cause.message
        return "NOT_ENDED_NORMALLY", str(cause or exc)  # e.g. terminated in the Temporal UI
    return ended.state.value, ended.reason


def _saga_search_attributes(saga: PayoutInput | MassPayoutInput) -> TypedSearchAttributes:
    """What the saga sets itself at its start (`search_attributes.initial`), set by the start
    already, as `starter.api.idempotent_start` does."""
    kind = "mass" if isinstance(saga, MassPayoutInput) else "single"
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.PAYOUT_KIND, kind),
        SearchAttributePair(sa.PAYOUT_CURRENCY, saga.currency),
    ]
    if saga.external_id:
        pairs.append(SearchAttributePair(sa.PAYOUT_EXTERNAL_ID, saga.external_id))
    return TypedSearchAttributes(pairs)


def _summary(saga: PayoutInput | MassPayoutInput, schedule_id: str, scheduled: datetime) -> str:
    when = f"schedule {schedule_id}, {scheduled.isoformat()}"
    if isinstance(saga, MassPayoutInput):
        name = f": {saga.name}" if saga.name else ""
        return f"Pay {len(saga.recipients)} recipients in {saga.currency}{name} ({when})"
    address = saga.deposit_address
    return f"Pay {saga.amount} {saga.currency} to {address[:6]}…{address[-4:]} ({when})"
