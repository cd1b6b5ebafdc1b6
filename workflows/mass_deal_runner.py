"""Running a mass payout's deals: a bounded number of child workflows at a time, tallying each
item's outcome, and releasing the items of deals that were never sent. Mixed into the saga.
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.ledger import ReleaseRequest
    from activities.mass_activities import LedgerBatch, MassActivities
    from calypso.currencies import CURRENCIES
    from workflows.activity_options import CALL
    from workflows.keys import mass_deal_key, mass_deal_workflow_id
    from workflows.mass_deal import MassDealWorkflow, item_ledger_key
    from workflows.mass_models import (
        DealCancelInput,
        DealInput,
        DealResult,
        DealSummary,
        ItemOutcome,
        ItemState,
        MassPayoutInput,
    )
    from workflows.payout_models import SagaState as State

LEDGER_BATCH_ITEMS = 2000


class DealRunner:
    """Expects the saga's `_request`, `_deals`, `_counts`, `_amounts`, `_sent`,
    `_not_cancelable`, `_cancel_reason` and `_set_state`."""

    _request: MassPayoutInput
    _deals: list[DealSummary]
    _counts: Counter[ItemState]
    _amounts: defaultdict[str, Decimal]
    _sent: int
    _not_cancelable: list[int]
    _cancel_reason: str | None

    def _set_state(self, state: State, note: str | None) -> None:
        raise NotImplementedError

    async def _run_deals(self) -> bool:
        """Run the pending deals; False when this run stopped early to continue as new."""
        self._set_state(State.PAYING, None)
        running: dict[asyncio.Task[DealResult], DealSummary] = {}
        waiting = [deal for deal in self._deals if deal.state == "PENDING"]
        started = 0
        canceled = asyncio.create_task(
            workflow.wait_condition(lambda: self._cancel_reason is not None)
        )
        while waiting or running:
            room = self._request.max_parallel_deals - len(running)
            while (
                waiting
                and room > 0
                and self._cancel_reason is None
                and not self._run_is_full(started)
            ):
                deal = waiting.pop(0)
                running[asyncio.create_task(self._run_deal(deal))] = deal
                started, room = started + 1, room - 1
            if self._cancel_reason is not None and waiting:
                await self._end_unpaid(waiting, ItemState.CANCELED, self._cancel_reason)
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
                    await self._end_unpaid([deal], ItemState.FAILED, reason)
                    continue
                self._record(deal, result)
        canceled.cancel()
        return not waiting

    def _run_is_full(self, started: int) -> bool:
        """Enough deals for one run's history: finish the running ones, then continue as new."""
        return (
            started >= self._request.deals_per_run or workflow.info().is_continue_as_new_suggested()
        )

    async def _run_deal(self, deal: DealSummary) -> DealResult:
        handle = await workflow.start_child_workflow(
            MassDealWorkflow.run,
            DealInput(
                mass_key=self._request.idempotency_key,
                deal_index=deal.index,
                deal_key=mass_deal_key(self._request.idempotency_key, deal.index),
                currency=self._request.currency,
                items=self._request.recipients.items(deal.first_item, deal.first_item + deal.items),
                name=self._request.name,
                comment=self._request.comment,
                ledger_account=self._request.ledger_account,
                resend=self._request.resend,
                poll_interval_seconds=self._request.poll_interval_seconds,
            ),
            id=deal.workflow_id,
            # A deal holds money in flight: it finishes even if this workflow is terminated.
            parent_close_policy=ParentClosePolicy.ABANDON,
        )
        deal.state = "RUNNING"
        while not handle.done():
            await workflow.wait_condition(lambda: self._cancel_reason is not None or handle.done())
            if self._cancel_reason is not None and not handle.done():
                await handle.signal(
                    MassDealWorkflow.cancel, DealCancelInput(reason=self._cancel_reason)
                )
                break
        return await handle

    def _record(self, deal: DealSummary, result: DealResult) -> None:
        deal.state, deal.attempts = result.state, len(result.attempts)
        self._sent += sum(1 for attempt in result.attempts if attempt.provider_id)
        for outcome in result.outcomes:
            self._count(outcome)
        if result.cancel_refused:
            self._not_cancelable += [
                o.index for o in result.outcomes if o.state != ItemState.CANCELED
            ]

    def _count(self, outcome: ItemOutcome) -> None:
        self._counts[ItemState.PENDING] -= 1
        self._counts[outcome.state] += 1
        if outcome.state == ItemState.COMPLETED:
            self._amounts["paid"] += outcome.amount
            self._amounts["fees"] += outcome.fee or Decimal(0)
        else:
            self._amounts["released"] += outcome.amount
            if outcome.state == ItemState.FAILED:
                self._amounts["failed"] += outcome.amount

    async def _end_unpaid(self, deals: list[DealSummary], outcome: ItemState, reason: str) -> None:
        """Deals that paid nothing — never sent (CANCELED), or whose workflow failed outright
        (FAILED: the last line for a bug or a terminated deal) — end with every item released."""
        recipients = self._request.recipients
        items = [
            item
            for deal in deals
            for item in recipients.items(deal.first_item, deal.first_item + deal.items)
        ]
        await self._release([item.index for item in items], reason)
        for deal in deals:
            deal.state = State(outcome)
        for item in items:
            self._count(
                ItemOutcome(
                    index=item.index,
                    address=item.address,
                    amount=item.amount,
                    reference=item.reference,
                    state=outcome,
                    reason=reason,
                )
            )

    async def _release_unsent(self, reason: str) -> None:
        unsent = [deal for deal in self._deals if deal.state == "PENDING"]
        await self._end_unpaid(unsent, ItemState.CANCELED, reason)

    async def _release(self, indexes: list[int], reason: str) -> None:
        key = self._request.idempotency_key
        for start in range(0, len(indexes), LEDGER_BATCH_ITEMS):
            chunk = indexes[start : start + LEDGER_BATCH_ITEMS]
            batch = LedgerBatch(
                release=[
                    ReleaseRequest(key=item_ledger_key(key, index), reason=reason)
                    for index in chunk
                ]
            )
            await workflow.execute_activity_method(MassActivities.apply_ledger_batch, batch, **CALL)


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
