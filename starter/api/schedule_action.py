"""What a payout schedule's action holds, and the checks of the payout it makes.

The action's argument is the occurrence input (`RecurringPayoutInput`): inline for a single
payout, written to the payload store for a mass payout (`stored_input`); its memo holds the
`ScheduleFacts` (`FACTS_MEMO`). Both come back as raw payloads when a schedule is described.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleDescription
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from activities.ledger.shortfall import total_of
from starter.api.idempotent_start import MEMO_AMOUNT, MEMO_ITEMS, MEMO_TOTAL
from starter.api.mass_rows import InvalidMassListError
from starter.api.requests import InvalidPayoutError, checked
from starter.api.schedule_timing import ScheduleTiming
from starter.api.schedule_views import InvalidScheduleError, ScheduleFacts
from workflows import search_attributes as sa
from workflows.mass_models import MassPayoutRequest
from workflows.payout_models import PayoutRequest
from workflows.recurring_models import RECURRING_KIND, Overlap, RecurringPayoutInput

FACTS_MEMO = "payoutSchedule"  # the action's memo key holding `ScheduleFacts`
ScheduledRequest = PayoutRequest | MassPayoutRequest


def request_problems(request: ScheduledRequest) -> list[str]:
    """Every reason a schedule cannot pay `request` at each occurrence: the API's checks of a
    payout (`checked`), and what a recurring payout decides itself (key and date)."""
    problems: list[str] = []
    if request.idempotency_key is not None:
        problems.append(
            "idempotency_key: each occurrence derives its own from the schedule id and its "
            "scheduled time; leave it out"
        )
    if request.execution_date is not None:
        problems.append("execution_date: a recurring payout pays at each occurrence; leave it out")
    try:
        if isinstance(request, MassPayoutRequest):
            checked(request)
        else:
            checked(request)
    except InvalidPayoutError as exc:
        problems += [str(problem) for problem in exc.problems]
    except InvalidMassListError as exc:
        problems += [str(problem) for problem in exc.errors]
    return problems


def now_if_mass(request: ScheduledRequest) -> datetime | None:
    return datetime.now(UTC) if isinstance(request, MassPayoutRequest) else None


def listing_memo(request: ScheduledRequest) -> dict[str, str | int]:
    if isinstance(request, MassPayoutRequest):
        total = total_of(request.recipients.amounts)
        return {MEMO_TOTAL: str(total), MEMO_ITEMS: len(request.recipients)}
    return {MEMO_AMOUNT: str(request.amount)}


def facts_of(
    request: ScheduledRequest,
    timing: ScheduleTiming,
    overlap: Overlap,
    requested_by: str | None,
    snapshot_at: datetime | None,
) -> ScheduleFacts:
    common: dict[str, Any] = {
        "currency": request.currency,
        "ledger_account": request.ledger_account,
        "overlap": overlap,
        "requested_by": requested_by,
        "timing": timing,
    }
    if isinstance(request, MassPayoutRequest):
        return ScheduleFacts(
            kind="mass",
            total=total_of(request.recipients.amounts),
            items=len(request.recipients),
            name=request.name,
            snapshot_at=snapshot_at,
            **common,
        )
    return ScheduleFacts(kind="single", amount=request.amount, to=request.deposit_address, **common)


def search_attributes(currency: str) -> TypedSearchAttributes:
    return TypedSearchAttributes(
        [
            SearchAttributePair(sa.PAYOUT_KIND, RECURRING_KIND),
            SearchAttributePair(sa.PAYOUT_CURRENCY, currency),
        ]
    )


def _payload(value: Any) -> Payload:
    """An action's argument or memo value as described: a raw payload."""
    if not isinstance(value, Payload):
        raise TypeError(f"expected a stored payload, got {type(value).__name__}")
    return value


async def stored_input(client: Client, occurrence: RecurringPayoutInput) -> Payload:
    """The occurrence input written to the payload store whatever its size: the schedule
    keeps the store's reference, and the worker's data converter reads it back."""
    converter = client.data_converter
    storage = converter.external_storage
    if storage is None:
        raise InvalidScheduleError(
            ["payload store: this client has none (PAYOUTS_PAYLOAD_DIR or "
             "PAYOUTS_PAYLOAD_STORE): a recurring mass payout keeps its list there"]
        )  # fmt: skip
    always = dataclasses.replace(storage, payload_size_threshold=0)
    (reference,) = await dataclasses.replace(converter, external_storage=always).encode(
        [occurrence]
    )
    return reference


async def decoded_input(client: Client, description: ScheduleDescription) -> RecurringPayoutInput:
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    (decoded,) = await client.data_converter.decode(
        [_payload(arg) for arg in action.args], [RecurringPayoutInput]
    )
    assert isinstance(decoded, RecurringPayoutInput)
    return decoded


async def decoded_facts(client: Client, description: ScheduleDescription) -> ScheduleFacts:
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    raw = (action.memo or {})[FACTS_MEMO]
    (facts,) = await client.data_converter.decode([_payload(raw)], [ScheduleFacts])
    assert isinstance(facts, ScheduleFacts)
    return facts
