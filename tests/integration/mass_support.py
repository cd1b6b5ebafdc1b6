"""Shared helpers for the mass payout integration tests (test_mass_*.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from activities.ledger import EntryState
from starter.api.outcomes import saga_result
from starter.api.payouts import Payouts
from starter.service.settings import Settings
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack
from workflows.keys import mass_payout_workflow_id
from workflows.ledger_steps import item_ledger_key
from workflows.mass_deal_runner import plan_deals
from workflows.mass_models import (
    ItemOutcome,
    MassPayoutInput,
    MassPayoutResult,
    MassProgress,
    Recipients,
)
from workflows.mass_payout import MassPayoutWorkflow

FAILS = TRON[:-4] + "fa11"  # the network rejects it: that item alone fails
# IN_PROGRESS ten steps long. `sLow`, the base58 alias of the `5104` card: the saga validates a
# Tron address as base58 (no `0`), so `T…5104` is refused before anything starts.
SLOW = TRON[:-4] + "sLow"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
MASS_CREATE = "/api/v1/payout/mass/create"
WITHDRAWAL_PAGE_SIZE = 1000  # the largest page GET /sandbox/payouts/{id}/withdrawals serves

MassHandle = WorkflowHandle[MassPayoutWorkflow, MassPayoutResult]


def tron(n: int) -> str:
    """The n-th of distinct, valid Tron addresses (n < 58**2)."""
    return TRON[:-2] + BASE58[n // 58] + BASE58[n % 58]


def amounts(count: int) -> list[Decimal]:
    """Distinct amounts with a decimal part (1.25, 2.25, …): every item is told apart."""
    return [Decimal(n + 1) + Decimal("0.25") for n in range(count)]


def recipients(addresses: list[str], item_amounts: list[Decimal] | None = None) -> Recipients:
    count = len(addresses)
    return Recipients(
        addresses=addresses,
        amounts=item_amounts or amounts(count),
        comments=[None] * count,
        references=[f"ref-{n}" for n in range(count)],
    )


def mass_input(addresses: list[str], **overrides: Any) -> MassPayoutInput:
    fields: dict[str, Any] = {
        "idempotency_key": uuid.uuid4(),
        "currency": "USDT_TRX",
        "recipients": recipients(addresses),
        "poll_interval_seconds": 5.0,
    }
    fields.update(overrides)
    return MassPayoutInput.model_validate(fields)


async def start_mass(stack: Stack, request: MassPayoutInput) -> MassHandle:
    """Start the saga; the stack terminates it and its deals if the test leaves them running
    (deals are abandoned children: ending the saga does not end them)."""
    handle = await stack.client.start_workflow(
        MassPayoutWorkflow.run,
        request,
        id=mass_payout_workflow_id(request.idempotency_key),
        task_queue=stack.task_queue,
    )
    stack.started.append(handle.id)
    stack.started.extend(deal.workflow_id for deal in plan_deals(request))
    return handle


async def finished(handle: MassHandle, *, deadline: float = 120.0) -> MassPayoutResult:
    """The saga's result, failing the test after `deadline` seconds instead of hanging; and no
    workflow task of the saga may have failed on the way (a retried task can hide a bug).

    The test sagas end within ~10 s on an idle machine; 30 s was tight with another process
    keeping one of two cores busy. 120 s still fails well inside pytest's 300 s timeout."""
    result = await asyncio.wait_for(saga_result(handle, MassPayoutResult), deadline)
    failures = await task_failures(handle)
    assert not failures, f"workflow tasks of {handle.id} failed: {failures}"
    return result


async def task_failures(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """Why each failed workflow task of `handle` failed (e.g. a deadlock: a busy loop)."""
    history = await handle.fetch_history()
    return [
        event.workflow_task_failed_event_attributes.failure.message
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]


def payouts_api(stack: Stack) -> Payouts:
    """The Python API on this stack's client and task queue."""
    return Payouts(stack.client, Settings(task_queue=stack.task_queue, poll_interval_seconds=5.0))


async def provider_mass_deals(stack: Stack, *, withdrawals: bool = False) -> list[dict[str, Any]]:
    """The sandbox's mass payouts, in creation order: each one's API view, `history` and a
    summary of its withdrawals; with `withdrawals=True` also its `withdrawals`, in item order."""
    deals = sorted(await stack.provider_payouts(kind="mass"), key=lambda deal: int(deal["id"]))
    if withdrawals:
        for deal in deals:
            deal["withdrawals"] = await provider_withdrawals(stack, deal["id"])
            assert len(deal["withdrawals"]) == deal["withdrawalCount"], deal["id"]
    return deals


async def provider_withdrawals(stack: Stack, payout_id: str) -> list[dict[str, Any]]:
    """Every withdrawal of one sandbox payout, in item order, read page by page."""
    items: list[dict[str, Any]] = []
    page_number = 1
    while True:
        page = await stack.sandbox.get(
            f"/sandbox/payouts/{payout_id}/withdrawals",
            {"pageNumber": page_number, "size": WITHDRAWAL_PAGE_SIZE},
        )
        items.extend(page["result"])
        if page_number >= page["total"]:
            assert len(items) == page["totalElements"], page
            return items
        page_number += 1


async def mass_creates(stack: Stack) -> list[dict[str, Any]]:
    """Every mass-create call the sandbox saw (accepted or not)."""
    logged: list[dict[str, Any]] = await stack.sandbox.get(f"/sandbox/requests?path={MASS_CREATE}")
    return logged


async def wait_for_progress(
    handle: MassHandle, check: Callable[[MassProgress], bool], *, deadline: float = 60.0
) -> MassProgress:
    """Query `progress` until `check` holds. The deadline: a saga step takes ~1 s on an idle
    machine; 20 s was tight with another process keeping one of two cores busy."""

    async def probe() -> MassProgress | None:
        progress = await handle.query(MassPayoutWorkflow.progress)
        return progress if check(progress) else None

    found: MassProgress = await eventually(probe, deadline=deadline)
    return found


async def ledger_states(stack: Stack, request: MassPayoutInput) -> list[EntryState | None]:
    """Every item's ledger entry state, in list order."""
    states: list[EntryState | None] = []
    for index in range(len(request.recipients)):
        entry = await stack.ledger.entry(item_ledger_key(request.idempotency_key, index))
        states.append(entry.state if entry is not None else None)
    return states


async def report(stack: Stack, key: uuid.UUID) -> list[ItemOutcome]:
    return [outcome async for outcome in payouts_api(stack).mass.report(key)]
