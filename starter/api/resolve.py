"""An operator's decision on a payout held for review: `paid` or `failed`, who and why.

A single payout takes it through its `resolve` update. A mass payout's items are held by their
deal: the decision goes to the deal that holds the item (`--item N`, the item's index in the
list). The update refuses anything not held for review, with the reason.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from starter.api.errors import PayoutEndedError, ended_state
from starter.api.saga_kinds import MASS, find_saga
from workflows.mass_deal import MassDealWorkflow
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import ResolveInput, ResolveResult
from workflows.single_payout import SinglePayoutWorkflow


class ResolveRefusedError(ValueError):
    """Raised when the saga refuses the decision (not held for review, unknown item, …)."""


async def resolve(client: Client, key: uuid.UUID, decision: ResolveInput) -> ResolveResult:
    kind, handle = await find_saga(client, key)
    try:
        if kind is not MASS:
            if decision.item is not None:
                raise ResolveRefusedError("item: a single payout has no items")
            result: ResolveResult = await handle.execute_update(
                SinglePayoutWorkflow.resolve, decision
            )
            return result
        if decision.item is None:
            raise ResolveRefusedError("item: name the item of the mass payout to resolve")
        progress = await handle.query(MassPayoutWorkflow.progress)
        deal = next(
            (d for d in progress.deals if d.first_item <= decision.item < d.first_item + d.items),
            None,
        )
        if deal is None:
            raise ResolveRefusedError(f"item: {decision.item} is not in this list")
        deal_handle = client.get_workflow_handle(deal.workflow_id)
        result = await deal_handle.execute_update(MassDealWorkflow.resolve, decision)
        return result
    except WorkflowUpdateFailedError as refused:
        raise ResolveRefusedError(str(refused.cause or refused)) from refused
    except RPCError as error:  # the saga (or the deal) has ended: nothing is held any more
        ended = await ended_state(handle, error, kind.result_type)
        raise PayoutEndedError(f"{kind.noun} {key} has already ended {ended}") from error
