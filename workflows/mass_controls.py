"""The operator's controls for a mass payout's list: admitted batch by batch (reserving every
item the policy does not refuse), screened, approved as a whole (`payout_controls.py`). Refused
items end REJECTED at once, released if they held a reservation; the rest go on to the deals.
Deterministic: runs in workflows.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.admission_models import AdmitItem
    from workflows.ledger_steps import ItemLedger, item_ledger_key
    from workflows.mass_models import ItemOutcome, ItemState, MassPayoutInput
    from workflows.mass_tally import MassTally
    from workflows.payout_controls import ADMIT_BATCH_ITEMS, PayoutControls


async def admit_list(
    request: MassPayoutInput, controls: PayoutControls, ledger: ItemLedger, tally: MassTally
) -> None:
    """Admit, screen and approve the list; SagaEnded as `PayoutControls.run` says."""
    recipients = request.recipients

    def batches() -> Iterator[list[AdmitItem]]:
        for start in range(0, len(recipients), ADMIT_BATCH_ITEMS):
            yield [
                AdmitItem(
                    index=item.index,
                    ledger_key=item_ledger_key(request.idempotency_key, item.index),
                    address=item.address,
                    amount=item.amount,
                )
                for item in recipients.items(start, start + ADMIT_BATCH_ITEMS)
            ]

    async def refuse(refused: dict[int, str], reserved: bool) -> None:
        if reserved:
            await ledger.release(sorted(refused), "refused by screening")
        for index, reason in sorted(refused.items()):
            (item,) = recipients.items(index, index + 1)
            tally.refuse(ItemOutcome.unpaid(item, ItemState.REJECTED, reason), reserved=reserved)

    ledger.mark_reserved(0)  # nothing yet: a refusal of the first batch released nothing
    await controls.run(
        sub_account=request.ledger_account,
        currency=request.currency,
        total=sum(recipients.amounts, Decimal(0)),
        count=len(recipients),
        execution_date=request.execution_date,
        batches=batches(),
        on_reserved=ledger.mark_reserved,
        on_refused=refuse,
        refusal=lambda error: ledger.refusal(error, recipients.amounts),
    )
