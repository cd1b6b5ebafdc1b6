"""A mass deal's items: how each ended, which are held for review, and the operators' decisions.

Items move from pending to an outcome once the provider has said so in terms we know; those it
has not (`NEEDS_REVIEW`) stay held until a later read or an operator's decision (`resolve`).
The ledger books each item once: paid items are settled, unpaid ones released, held ones
neither. Deterministic: runs in workflows.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.mass_activities import DealOutcomesInput, MassActivities
    from workflows.activity_options import CALL
    from workflows.mass_models import ItemOutcome, ItemState, MassItem
    from workflows.other_payments import describe_other, other_payments
    from workflows.payout_models import Attempt, ResolveInput, SagaState


class DealItems:
    def __init__(self, items: list[MassItem]) -> None:
        self._items = {item.index: item for item in items}
        self.outcomes: dict[int, ItemOutcome] = {}
        self.decisions: dict[int, ResolveInput] = {}
        self._booked: set[int] = set()  # settled or released in the ledger

    def record(self, outcomes: list[ItemOutcome]) -> None:
        for outcome in outcomes:
            self.outcomes[outcome.index] = outcome

    def end(self, items: list[MassItem], state: ItemState, reason: str, attempts: int) -> None:
        """These items end `state` without a word from the provider about each (never sent,
        refused, canceled before sending)."""
        self.record([ItemOutcome.unpaid(item, state, reason, attempts) for item in items])

    def with_state(self, state: ItemState) -> list[ItemOutcome]:
        return [o for o in self.outcomes.values() if o.state == state]

    def items(self, outcomes: list[ItemOutcome]) -> list[MassItem]:
        return [self._items[outcome.index] for outcome in outcomes]

    def to_book(self) -> list[ItemOutcome]:
        """Outcomes the ledger has not seen yet and can act on (held items excluded); marks them
        booked."""
        ready = [
            outcome
            for index, outcome in sorted(self.outcomes.items())
            if index not in self._booked and outcome.state != ItemState.NEEDS_REVIEW
        ]
        self._booked.update(outcome.index for outcome in ready)
        return ready

    def apply_decisions(self) -> None:
        """Operators' decisions on held items: paid (settle) or failed (release, never resent)."""
        for index, decision in self.decisions.items():
            outcome = self.outcomes.get(index)
            if outcome is None or outcome.state != ItemState.NEEDS_REVIEW:
                continue
            how = f"marked {decision.outcome} by {decision.by}: {decision.reason}"
            paid = decision.outcome == "paid"
            self.outcomes[index] = outcome.model_copy(
                update={
                    "state": ItemState.COMPLETED if paid else ItemState.FAILED,
                    "reason": how,
                }
            )

    def check_decision(self, decision: ResolveInput) -> None:
        """The `resolve` update's validator: only an item held for review can be decided."""
        index = decision.item
        if index is None:
            raise ValueError("item: name the item to resolve (its index in the list)")
        outcome = self.outcomes.get(index)
        if outcome is None or outcome.state != ItemState.NEEDS_REVIEW:
            state = outcome.state if outcome else "not ended"
            raise ValueError(f"item {index}: only an item held for review can be resolved; {state}")
        if index in self.decisions:
            raise ValueError(f"item {index}: already resolved")

    def final_state(self) -> SagaState:
        states = {outcome.state for outcome in self.outcomes.values()}
        if states == {ItemState.COMPLETED}:
            return SagaState.COMPLETED
        if ItemState.COMPLETED in states:
            return SagaState.PARTIAL
        return SagaState.CANCELED if states == {ItemState.CANCELED} else SagaState.FAILED

    async def certainly_unpaid(
        self, failed: list[MassItem], currency: str, attempts: list[Attempt]
    ) -> list[MassItem]:
        """Resend only what is certainly unpaid: an item whose recipient the provider is paying
        or has paid since this payout started (e.g. resent in the provider's UI) stays FAILED,
        with the reason, and is not sent again. Returns the items to resend."""
        addresses = sorted({item.address for item in failed})
        others = await other_payments(currency, addresses, attempts)
        resend = []
        for item in failed:
            other = others.for_address(item.address)
            if other is None:
                resend.append(item)
                continue
            outcome = self.outcomes[item.index]
            reason = f"{outcome.reason}; not resent: {describe_other(other)}"
            self.record([outcome.model_copy(update={"reason": reason})])
        return resend

    async def reread_held(self, attempts: list[Attempt]) -> None:
        """Ask the provider again about the held items, attempt by attempt."""
        by_attempt: dict[tuple[str, int], list[ItemOutcome]] = {}
        for outcome in self.with_state(ItemState.NEEDS_REVIEW):
            if outcome.provider_id is not None:
                by_attempt.setdefault((outcome.provider_id, outcome.attempts), []).append(outcome)
        for (provider_id, number), outcomes in sorted(by_attempt.items()):
            read = await workflow.execute_activity_method(
                MassActivities.read_deal_outcomes,
                DealOutcomesInput(
                    provider_id=provider_id,
                    attempt=number - 1,
                    items=self.items(outcomes),
                    deal_state=attempts[number - 1].provider_state,
                ),
                **CALL,
            )
            self.record(read.outcomes)
