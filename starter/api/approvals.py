"""Four eyes from the outside: `approve` and `deny` a payout (single or mass) waiting for
approval, through the saga's updates of the same names. The saga refuses, with the reason, a
payout that is not waiting, its requester's own approval and a second approval by the same
person; those arrive here as `ApprovalRefusedError`.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from starter.api.errors import PayoutEndedError, ended_state
from starter.api.saga_kinds import find_saga
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput


class ApprovalRefusedError(ValueError):
    """Raised when the saga refuses the decision; the message says why."""


async def decide(
    client: Client, key: uuid.UUID, decision: ApproveInput | DenyInput
) -> ApprovalResult:
    kind, handle = await find_saga(client, key)
    update = "approve" if isinstance(decision, ApproveInput) else "deny"
    try:
        result: ApprovalResult = await handle.execute_update(
            update, decision, result_type=ApprovalResult
        )
        return result
    except WorkflowUpdateFailedError as refused:
        cause = refused.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or refused)
        raise ApprovalRefusedError(reason) from refused
    except RPCError as error:  # the saga has ended: there is nothing to approve any more
        ended = await ended_state(handle, error, kind.result_type)
        raise PayoutEndedError(f"{kind.noun} {key} has already ended {ended}") from error
