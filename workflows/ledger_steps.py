"""A saga's moves in the merchant's books: reserve before anything is sent, settle what was paid,
release what was not. Idempotent by key at the ledger, so a replayed or retried step is harmless.

A single payout is one entry (`<key>`); a mass payout has one entry per item
(`<key>/item/<index>`), moved in batches that are atomic on the embedded ledger.
Deterministic: runs in workflows.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from uuid import UUID

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.ledger import ReleaseRequest, ReserveRequest, SettleRequest
    from activities.ledger.shortfall import (
        LedgerShortfall,
        refusal_text,
        shortfall_of,
        total_of,
    )
    from activities.mass_activities import LedgerBatch, MassActivities
    from activities.mass_items import ItemOutcome, ItemState
    from activities.payout_activities import PayoutActivities
    from workflows.activity_options import CALL, step
    from workflows.mass_models import Recipients
    from workflows.payout_models import SagaState
    from workflows.saga_record import SagaEnded
    from workflows.saga_timeline import Timeline

LEDGER_BATCH_ITEMS = 2000


def item_ledger_key(mass_key: UUID, index: int) -> str:
    return f"{mass_key}/item/{index}"


class PayoutLedger:
    """The one ledger entry of a single payout."""

    def __init__(self, key: UUID, timeline: Timeline) -> None:
        self._key = str(key)
        self._timeline = timeline
        self.local = False  # settle and release as local activities (`activity_options.step`)

    async def reserve(self, sub_account: str, currency: str, amount: Decimal) -> None:
        """Reserve `amount`; a refusal ends the saga REJECTED (nothing was sent)."""
        request = ReserveRequest(
            key=self._key, sub_account=sub_account, currency=currency, amount=amount
        )
        try:
            await workflow.execute_activity_method(PayoutActivities.reserve_funds, request, **CALL)
        except ActivityError as error:
            raise SagaEnded(SagaState.REJECTED, self.refusal(error)) from error
        self._timeline.add("saga", "reserved", None, f"{amount} {currency}")

    def refusal(self, error: ActivityError) -> str:
        """What was short and the command that funds it, when the ledger said so."""
        short = shortfall_of(error)
        if short is None:
            return f"ledger refused the reservation: {error.cause}"
        return "ledger refused the reservation: " + refusal_text(
            sub_account=short.sub_account,
            currency=short.currency,
            available=short.available,
            needed=short.needed,
            reference=f"topup-{self._key}",
            embedded=short.ledger in ("sqlite", "postgres"),
        )

    async def settle(self, paid: Decimal, fee: Decimal | None) -> str | None:
        """Settle a paid payout; a ledger that refuses is noted for reconciliation (the money
        has left, so the payout stays COMPLETED and nothing is released)."""
        request = SettleRequest(key=self._key, paid_amount=paid, fee=fee or 0)
        try:
            await step(PayoutActivities.settle_funds, request, local=self.local)
        except ActivityError as error:
            note = f"paid, but the ledger refused to settle: {error.cause}; reconcile it"
            self._timeline.add("saga", "settle", None, note)
            return note
        return None

    async def release(self, reason: str) -> None:
        request = ReleaseRequest(key=self._key, reason=reason)
        await step(PayoutActivities.release_funds, request, local=self.local)
        self._timeline.add("saga", "released", None, reason)


class ItemLedger:
    """The per-item ledger entries of a mass payout."""

    def __init__(self, mass_key: UUID, timeline: Timeline) -> None:
        self._mass_key = mass_key
        self._timeline = timeline
        # Items [0, _reserved) are reserved. None: this run did not reserve them, a run it
        # continues did, and all of them.
        self._reserved: int | None = None
        self.local = False  # batches as local activities (`activity_options.step`); set by deals

    def mark_reserved(self, stop: int) -> None:
        """Items [0, stop) are reserved (by the admission step, which reserves them itself)."""
        self._reserved = stop

    def was_reserved(self, index: int) -> bool:
        """Whether item `index` holds a reservation (a refusal leaves the later ones without)."""
        return self._reserved is None or index < self._reserved

    async def reserve(self, sub_account: str, currency: str, recipients: Recipients) -> None:
        """Reserve every item, batch by batch; a refusal ends the saga REJECTED (the batches
        before it stay reserved until the saga releases them)."""
        self._reserved = 0
        for start in range(0, len(recipients), LEDGER_BATCH_ITEMS):
            batch = LedgerBatch(
                reserve=[
                    ReserveRequest(
                        key=item_ledger_key(self._mass_key, item.index),
                        sub_account=sub_account,
                        currency=currency,
                        amount=item.amount,
                    )
                    for item in recipients.items(start, start + LEDGER_BATCH_ITEMS)
                ]
            )
            try:
                await self._apply(batch)
            except ActivityError as error:
                short = shortfall_of(error)
                # An atomic batch rolled back whole; a non-atomic one says what it kept.
                self._reserved = start + (short.reserved_in_batch if short else 0)
                reason = self.refusal(error, recipients.amounts)
                raise SagaEnded(SagaState.REJECTED, reason) from error
            self._reserved = start + len(batch.reserve)
        self._timeline.add("saga", "reserved", None, f"{len(recipients)} items")

    def refusal(self, error: ActivityError, amounts: list[Decimal]) -> str:
        """Why the ledger refused the list, as the saga ends REJECTED with it."""
        short = shortfall_of(error)
        if short is None:
            return f"ledger refused the reservation: {error.cause}"
        return self._refusal(short, amounts)

    def _refusal(self, short: LedgerShortfall, amounts: list[Decimal]) -> str:
        """The whole list against what the sub-account had for it, and the command that funds
        the difference. The ledger saw one batch: what this saga had reserved before it
        counts as available to the list too."""
        held = total_of(amounts[: self._reserved or 0])
        items = f"for all {len(amounts)} items" if len(amounts) > 1 else "for its 1 item"
        return "ledger refused the reservation: " + refusal_text(
            sub_account=short.sub_account,
            currency=short.currency,
            available=None if short.available is None else total_of([short.available, held]),
            needed=total_of(amounts),
            reference=f"topup-{self._mass_key}",
            embedded=short.ledger in ("sqlite", "postgres"),
            needed_for=items,
        )

    async def release(self, indexes: list[int], reason: str) -> None:
        """Release items that were never paid (never sent, or their deal failed outright)."""
        for start in range(0, len(indexes), LEDGER_BATCH_ITEMS):
            batch = LedgerBatch(
                release=[
                    ReleaseRequest(key=item_ledger_key(self._mass_key, index), reason=reason)
                    for index in indexes[start : start + LEDGER_BATCH_ITEMS]
                ]
            )
            await self._apply(batch)

    async def settle_and_release(self, outcomes: Iterable[ItemOutcome]) -> None:
        """Settle the paid items and release the rest, in one batch (a deal's items)."""
        batch = LedgerBatch()
        for outcome in outcomes:
            key = item_ledger_key(self._mass_key, outcome.index)
            if outcome.state == ItemState.COMPLETED:
                batch.settle.append(
                    SettleRequest(key=key, paid_amount=outcome.amount, fee=outcome.fee or 0)
                )
            else:
                batch.release.append(
                    ReleaseRequest(key=key, reason=outcome.reason or outcome.state)
                )
        try:
            await self._apply(batch)
        except ActivityError as error:
            # The outcomes stand (paid items were paid); the books need an operator's look.
            note = f"the ledger refused to settle or release: {error.cause}; reconcile it"
            self._timeline.add("saga", "ledger", None, note)

    async def _apply(self, batch: LedgerBatch) -> None:
        await step(MassActivities.apply_ledger_batch, batch, local=self.local)
