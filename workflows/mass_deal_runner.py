"""Running a mass payout's deals: a bounded number of child workflows at a time, tallying each
item's outcome, and releasing the items of deals that were never sent or paid nothing.
Owned by the mass payout saga. Deterministic: runs in workflows.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from calypso.currencies import CURRENCIES
    from workflows.execution_schedule import ExecutionSchedule
    from workflows.keys import mass_deal_key, mass_deal_workflow_id
    from workflows.ledger_steps import ItemLedger
    from workflows.mass_deal import MassDealWorkflow
    from workflows.mass_models import (
        DealCancelInput,
        DealInput,
        DealResult,
        DealSummary,
        ItemOutcome,
        ItemState,
        MassItem,
        MassPayoutInput,
    )
    from workflows.mass_tally import MassTally
    from workflows.payout_models import SagaState
    from workflows.saga_record import SagaRecord


class DealRunner:
    def __init__(
        self,
        request: MassPayoutInput,
        record: SagaRecord,
        schedule: ExecutionSchedule,
        tally: MassTally,
        ledger: ItemLedger,
    ) -> None:
        self._request = request
        self._record = record
        self._schedule = schedule  # its cancel request stops deals not yet sent
        self._tally = tally
        self._ledger = ledger

    async def run(self) -> bool:
        """Run the pending deals; False when this run stopped early to continue as new."""
        self._record.set_state(SagaState.PAYING, None)
        running: dict[asyncio.Task[DealResult], DealSummary] = {}
        waiting = self._tally.pending_deals
        started = 0
        canceled = asyncio.create_task(workflow.wait_condition(self._cancel_requested))
        while waiting or running:
            room = self._request.max_parallel_deals - len(running)
            while waiting and room > 0 and not self._cancel_requested() and not self._full(started):
                deal = waiting.pop(0)
                if not self._items_of(deal):
                    deal.state = SagaState.REJECTED  # every item refused: nothing to send
                    continue
                running[asyncio.create_task(self._run_deal(deal))] = deal
                started, room = started + 1, room - 1
            if self._cancel_requested() and waiting:
                await self.end_unpaid(waiting, ItemState.CANCELED, self._cancel_reason)
                waiting = []
            if not running:
                break
            # Once the cancel request has woken us, waiting on it again would return at once.
            wake: list[asyncio.Task[Any]] = [*running] + ([] if canceled.done() else [canceled])
            await workflow.wait(wake, return_when=asyncio.FIRST_COMPLETED)
            for task in [task for task in running if task.done()]:
                deal = running.pop(task)
                try:
                    result = task.result()
                except ChildWorkflowError as error:
                    reason = f"deal workflow failed: {error.cause or error}"
                    await self.end_unpaid([deal], ItemState.FAILED, reason)
                    continue
                self._tally.record(deal, result)
        canceled.cancel()
        return not waiting

    async def end_unpaid(self, deals: list[DealSummary], outcome: ItemState, reason: str) -> None:
        """Deals that paid nothing — never sent (CANCELED), or whose workflow failed outright
        (FAILED: the last line for a bug or a terminated deal) — end with every item released.
        The release goes to every item (a key never reserved gets a tombstone, closing it); the
        tally counts as released only what the ledger had reserved."""
        items = [item for deal in deals for item in self._items_of(deal)]
        await self._ledger.release([item.index for item in items], reason)
        for deal in deals:
            deal.state = SagaState(outcome)
        for item in items:
            self._tally.count(
                ItemOutcome.unpaid(item, outcome, reason),
                reserved=self._ledger.was_reserved(item.index),
            )

    def _items_of(self, deal: DealSummary) -> list[MassItem]:
        """The deal's items, without those the controls refused (they ended REJECTED)."""
        items = self._request.recipients.items(deal.first_item, deal.first_item + deal.items)
        refused = self._tally.refused
        return [item for item in items if item.index not in refused] if refused else items

    def _cancel_requested(self) -> bool:
        return self._schedule.cancel_reason is not None

    @property
    def _cancel_reason(self) -> str:
        return self._schedule.cancel_reason or "canceled"

    def _full(self, started: int) -> bool:
        """Enough deals for one run's history: finish the running ones, then continue as new."""
        return (
            started >= self._request.deals_per_run or workflow.info().is_continue_as_new_suggested()
        )

    async def _run_deal(self, deal: DealSummary) -> DealResult:
        request = self._request
        handle = await workflow.start_child_workflow(
            MassDealWorkflow.run,
            DealInput(
                mass_key=request.idempotency_key,
                deal_index=deal.index,
                deal_key=mass_deal_key(request.idempotency_key, deal.index),
                currency=request.currency,
                items=self._items_of(deal),
                name=request.name,
                comment=request.comment,
                ledger_account=request.ledger_account,
                resend=request.resend,
                poll_interval_seconds=request.poll_interval_seconds,
                confirmation_wait_seconds=request.confirmation_wait_seconds,
            ),
            id=deal.workflow_id,
            # A deal holds money in flight: it finishes even if this workflow is terminated.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        deal.state = "RUNNING"
        while not handle.done():
            await workflow.wait_condition(lambda: self._cancel_requested() or handle.done())
            if self._cancel_requested() and not handle.done():
                await handle.signal(
                    MassDealWorkflow.cancel, DealCancelInput(reason=self._cancel_reason)
                )
                break
        return await handle


def plan_deals(request: MassPayoutInput) -> list[DealSummary]:
    size = (
        request.items_per_deal or CURRENCIES[request.currency].items_per_mass_payout
        if request.currency in CURRENCIES
        else 100
    )
    return [
        DealSummary(
            index=index,
            workflow_id=mass_deal_workflow_id(mass_deal_key(request.idempotency_key, index)),
            first_item=start,
            items=min(size, len(request.recipients) - start),
            state="PENDING",
        )
        for index, start in enumerate(range(0, len(request.recipients), size))
    ]
