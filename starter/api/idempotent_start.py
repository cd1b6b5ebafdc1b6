"""Starting a saga exactly once per business key, and noticing a key reused for another payout."""

from __future__ import annotations

import hashlib
from decimal import MAX_PREC, Decimal, localcontext
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows import search_attributes as sa
from workflows.mass_models import MassPayoutInput
from workflows.payout_models import PayoutInput, SagaKnobs

FINGERPRINT = "requestFingerprint"
# What `Payouts.list` shows without asking the saga (the memo is not part of replay): a payout's
# amount, a mass payout's total and item count, as exact decimal strings. Older sagas lack them.
MEMO_AMOUNT = "amount"
MEMO_TOTAL = "total"
MEMO_ITEMS = "items"
# The `PayoutKind` of each saga, as the workflows set it themselves (`SagaRecord.started`).
SINGLE_KIND = "single"
MASS_KIND = "mass"


class KeyReusedError(ValueError):
    """Raised when an idempotency key already belongs to a different payout."""


async def start_idempotently(
    client: Client,
    workflow: str,
    saga_input: PayoutInput | MassPayoutInput,
    *,
    workflow_id: str,
    task_queue: str,
    summary: str,
) -> None:
    """Start `workflow` once per id; a second start with the same request is a no-op, with
    another request a `KeyReusedError` (the key is taken by another payout)."""
    expected = fingerprint(saga_input)
    try:
        handle: WorkflowHandle[Any, Any] = await client.start_workflow(
            workflow,
            saga_input,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={FINGERPRINT: expected, **listing_memo(saga_input)},
            static_summary=summary,
            search_attributes=initial_search_attributes(saga_input),
        )
    except WorkflowAlreadyStartedError:  # it ran before and is closed
        handle = client.get_workflow_handle(workflow_id)
    memo = await (await handle.describe()).memo()
    if memo.get(FINGERPRINT) != expected:
        raise KeyReusedError(f"{workflow_id}: the key is already used by a different payout")


def listing_memo(saga_input: PayoutInput | MassPayoutInput) -> dict[str, str | int]:
    if isinstance(saga_input, MassPayoutInput):
        with localcontext() as exact:  # the default 28 digits would round 18-decimal totals
            exact.prec = MAX_PREC
            total = sum(saga_input.recipients.amounts, Decimal(0))
        return {MEMO_TOTAL: str(total), MEMO_ITEMS: len(saga_input.recipients)}
    return {MEMO_AMOUNT: str(saga_input.amount)}


def initial_search_attributes(saga_input: PayoutInput | MassPayoutInput) -> TypedSearchAttributes:
    """The search attributes the saga sets at its start (`workflows.search_attributes.initial`),
    set by the start already: a saga no worker has picked up yet is found by kind and currency.
    The saga's own upsert then writes the same values."""
    kind = MASS_KIND if isinstance(saga_input, MassPayoutInput) else SINGLE_KIND
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(sa.PAYOUT_KIND, kind),
        SearchAttributePair(sa.PAYOUT_CURRENCY, saga_input.currency),
    ]
    if saga_input.external_id:
        pairs.append(SearchAttributePair(sa.PAYOUT_EXTERNAL_ID, saga_input.external_id))
    if saga_input.execution_date:
        pairs.append(SearchAttributePair(sa.PAYOUT_EXECUTION_DATE, saga_input.execution_date))
    return TypedSearchAttributes(pairs)


def fingerprint(saga_input: PayoutInput | MassPayoutInput) -> str:
    """What makes two starts the same payout: the input without the knobs (`SagaKnobs`), i.e.
    the request as given with its key. (A mass input's `resume` is always None at a start.)

    Running sagas keep this value in their memo, so it must not change for the same request:
    the JSON follows the models' field order, and a new field changes it unless excluded here.
    """
    canonical = saga_input.model_dump_json(exclude={*SagaKnobs.model_fields, "requested_by"})
    return hashlib.sha256(canonical.encode()).hexdigest()
