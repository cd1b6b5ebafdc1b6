"""Reconciliation against the real sandbox, a real Temporal dev server and a real SQLite ledger:
each kind of discrepancy produced the way it happens (payouts made in the provider's UI, a saga or
a mass deal terminated while its payout waited, a reversal, a key reused with other values), and a
clean run after normal payouts; `payouts reconcile --json` and `--output`, exits 0 and 1. The
exit codes for bad input and the schedule: test_reconcile_cli.py."""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.cli_runner import run_payouts
from tests.integration.conftest import Stack, provider_state_is, wait_for_status
from tests.integration.mass_support import finished, mass_input, start_mass, tron
from workflows.mass_deal_runner import plan_deals
from workflows.payout_models import PayoutResult, SagaState
from workflows.reconcile import ReconcileWorkflow
from workflows.reconcile_models import DiscrepancyKind, ReconcileInput, ReconcileReport
from workflows.search_attributes import RECONCILE_DISCREPANCIES

Kind = DiscrepancyKind
DEADLINE = 90.0


def window_start() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


async def reconcile(stack: Stack, since: datetime) -> tuple[ReconcileReport, str]:
    workflow_id = f"reconcile-{uuid.uuid4()}"
    report = await stack.client.execute_workflow(
        ReconcileWorkflow.run,
        ReconcileInput(since=since),
        id=workflow_id,
        task_queue=stack.task_queue,
    )
    return report, workflow_id


async def reconcile_until(
    stack: Stack, since: datetime, check: Callable[[ReconcileReport], bool]
) -> tuple[ReconcileReport, str]:
    """Run reconciliations until one's report satisfies `check` (visibility follows a saga's end
    by a moment); fail after the deadline with the last report."""
    last: list[ReconcileReport] = []

    async def attempt() -> tuple[ReconcileReport, str] | None:
        report, workflow_id = await reconcile(stack, since)
        last[:] = [report]
        return (report, workflow_id) if check(report) else None

    try:
        found: tuple[ReconcileReport, str] = await eventually(
            attempt, deadline=DEADLINE, interval=0.5
        )
    except TimeoutError:
        raise AssertionError(f"no report matched; the last: {last}") from None
    return found


def kinds(report: ReconcileReport) -> list[Kind]:
    return sorted(found.kind for found in report.discrepancies)


async def discrepancies_attribute(stack: Stack, workflow_id: str) -> int | None:
    described = await stack.client.get_workflow_handle(workflow_id).describe()
    return described.typed_search_attributes.get(RECONCILE_DISCREPANCIES)


async def ui(stack: Stack, path: str, body: dict[str, Any]) -> dict[str, Any]:
    created: dict[str, Any] = await stack.sandbox.post(f"/sandbox/ui/{path}", body)
    return created


async def provider_final(stack: Stack, payout_id: str, state: str) -> None:
    await eventually(lambda: provider_state_is(stack.sandbox, payout_id, state), deadline=60)


async def test_a_clean_run_after_normal_payouts_reports_nothing(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    since = window_start()
    singles = [await dev_stack.start(dev_stack.payout()) for _ in range(2)]
    mass = await start_mass(dev_stack, mass_input([tron(1), tron(2), tron(3)]))
    for handle in singles:
        assert (await saga_result(handle, PayoutResult)).state == SagaState.COMPLETED
    assert (await finished(mass)).state == SagaState.COMPLETED

    report, workflow_id = await reconcile_until(
        dev_stack, since, lambda r: r.in_flight == 0 and r.sagas == 3
    )
    assert report.clean, report.discrepancies
    assert (report.provider_payouts, report.provider_mass_payouts) == (2, 1)
    assert report.ledger_checked and report.reservations_checked == 0
    assert report.task_queue == dev_stack.task_queue
    assert await discrepancies_attribute(dev_stack, workflow_id) == 0

    output = tmp_path / "report.json"
    ran = await run_payouts(
        dev_stack,
        dev_server,
        "reconcile",
        *("--json", "--since", since.isoformat(), "--output", str(output)),
    )
    assert ran.code == 0, ran.err
    document = json.loads(ran.out)
    assert json.loads(output.read_text()) == document
    assert datetime.fromisoformat(document["since"]) == since
    assert (document["total"], document["discrepancies"]) == (0, [])
    assert document["counts"] == {kind.value: 0 for kind in Kind}
    assert document["provider_payouts"] == 2


async def test_payouts_made_in_the_providers_ui_are_unknown(
    dev_stack: Stack, dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    since = window_start()
    ours = await dev_stack.start(dev_stack.payout())
    assert (await saga_result(ours, PayoutResult)).state == SagaState.COMPLETED
    single = await ui(
        dev_stack, "payouts", {"depositAddress": tron(7), "amount": 12, "currency": "USDT_TRX"}
    )
    keyless = await ui(
        dev_stack,
        "payouts",
        {"depositAddress": tron(8), "amount": 3, "currency": "USDT_TRX", "idempotencyKey": None},
    )
    items = [{"depositAddress": tron(n), "amount": Decimal("1.5")} for n in (9, 10)]
    mass = await ui(dev_stack, "mass-payouts", {"currency": "USDT_TRX", "massAddresses": items})
    for payout in (single, keyless, mass):
        await provider_final(dev_stack, payout["id"], "COMPLETED")

    report, _ = await reconcile_until(dev_stack, since, lambda r: r.total >= 3)
    assert kinds(report) == [Kind.UNKNOWN_PROVIDER_PAYOUT] * 3
    found = {d.provider_id: d for d in report.discrepancies}
    assert set(found) == {single["id"], keyless["id"], mass["id"]}
    by_hand, no_key, many = found[single["id"]], found[keyless["id"]], found[mass["id"]]
    assert (by_hand.key, by_hand.amount) == (single["idempotencyKey"], Decimal(12))
    assert by_hand.provider_kind == "single"
    assert (no_key.key, no_key.amount) == (None, Decimal(3))
    assert (many.provider_kind, many.amount) == ("mass", Decimal(3))
    assert all(d.workflow_id is None for d in report.discrepancies)

    output = tmp_path / "report.csv"
    ran = await run_payouts(
        dev_stack, dev_server, "reconcile", "--since", since.isoformat(), "--output", str(output)
    )
    assert ran.code == 1, ran.err
    assert "3 discrepancies" in ran.out and "unknown_provider_payout 3" in ran.out
    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert {row["provider_id"] for row in rows} == set(found)
    assert {row["kind"] for row in rows} == {"unknown_provider_payout"}


async def test_a_payout_paid_after_its_saga_was_terminated(dev_stack: Stack) -> None:
    since = window_start()
    await dev_stack.sandbox.post("/sandbox/config", {"verification": True})
    saga_input = dev_stack.payout()
    handle = await dev_stack.start(saga_input)
    sent = await wait_for_status(handle, lambda s: s.provider_id is not None)
    payout_id = str(sent.provider_id)
    await provider_final(dev_stack, payout_id, "PENDING_CONFIRMATION")
    await handle.terminate("an operator stopped it by mistake")
    await dev_stack.sandbox.post(f"/sandbox/payouts/{payout_id}/confirm")
    await provider_final(dev_stack, payout_id, "COMPLETED")

    report, workflow_id = await reconcile_until(dev_stack, since, lambda r: r.total >= 2)
    assert kinds(report) == [Kind.PAID_NOT_COMPLETED, Kind.RESERVATION_HELD_BY_ENDED_SAGA]
    paid, held = sorted(report.discrepancies, key=lambda d: d.kind)
    key = str(saga_input.idempotency_key)
    assert (paid.workflow_id, paid.key, paid.provider_id) == (handle.id, key, payout_id)
    assert paid.provider_state == "COMPLETED"
    assert paid.saga_state is not None and "TERMINATED" in paid.saga_state
    assert (held.workflow_id, held.key, held.amount, held.currency) == (
        handle.id,
        key,
        Decimal("25.5"),
        "USDT_TRX",
    )
    assert report.reservations_checked == 1
    assert await discrepancies_attribute(dev_stack, workflow_id) == 2


async def test_a_completed_payout_the_provider_reversed(dev_stack: Stack) -> None:
    since = window_start()
    handle = await dev_stack.start(dev_stack.payout())
    result = await saga_result(handle, PayoutResult)
    assert result.state == SagaState.COMPLETED and result.provider_id
    reversal = {"state": "FAILED"}  # e.g. the network reversed it after the fact
    await dev_stack.sandbox.post(f"/sandbox/payouts/{result.provider_id}/force", reversal)

    report, _ = await reconcile_until(dev_stack, since, lambda r: r.total >= 1)
    assert kinds(report) == [Kind.COMPLETED_NOT_PAID]
    (found,) = report.discrepancies
    assert (found.workflow_id, found.provider_id) == (handle.id, result.provider_id)
    assert (found.provider_state, found.saga_state) == ("FAILED", "COMPLETED")


async def test_a_key_reused_at_the_provider_with_other_values_is_a_mismatch(
    dev_stack: Stack,
) -> None:
    since = window_start()
    saga_input = dev_stack.payout()
    # Someone pays under our key first, another amount to another address, e.g. in the UI.
    theirs = await ui(
        dev_stack,
        "payouts",
        {
            "depositAddress": tron(11),
            "amount": 30,
            "currency": "USDT_TRX",
            "idempotencyKey": str(saga_input.idempotency_key),
        },
    )
    await provider_final(dev_stack, theirs["id"], "COMPLETED")
    handle = await dev_stack.start(saga_input)  # its create finds the key taken (016) and follows
    await wait_for_status(handle, lambda s: s.provider_id == theirs["id"])

    report, _ = await reconcile_until(dev_stack, since, lambda r: r.total >= 3)
    assert set(kinds(report)) == {Kind.MISMATCH}
    found = {(d.field, d.provider_value, d.our_value) for d in report.discrepancies}
    assert found == {
        ("amount", "30", "25.5"),  # what the saga was asked to pay
        ("address", tron(11), saga_input.deposit_address),
        ("ledger.amount", "30", "25.5"),  # what the ledger settled
    }
    assert {d.workflow_id for d in report.discrepancies} == {handle.id}
    assert {d.provider_id for d in report.discrepancies} == {theirs["id"]}


async def test_mass_items_paid_after_their_deal_was_terminated(dev_stack: Stack) -> None:
    since = window_start()
    await dev_stack.sandbox.post("/sandbox/config", {"verification": True})
    request = mass_input([tron(21), tron(22)])
    mass = await start_mass(dev_stack, request)
    (deal,) = plan_deals(request)

    async def pending() -> str | None:
        deals = await dev_stack.provider_payouts(kind="mass", state="PENDING_CONFIRMATION")
        return str(deals[0]["id"]) if deals else None

    payout_id: str = await eventually(pending, deadline=60)
    await dev_stack.client.get_workflow_handle(deal.workflow_id).terminate("stopped by mistake")
    await finished(mass)  # the deal failed: its items are released
    await dev_stack.sandbox.post(f"/sandbox/payouts/{payout_id}/confirm")
    await provider_final(dev_stack, payout_id, "COMPLETED")

    report, _ = await reconcile_until(dev_stack, since, lambda r: r.total >= 1)
    assert kinds(report) == [Kind.PAID_NOT_COMPLETED]
    (found,) = report.discrepancies
    assert (found.workflow_id, found.provider_id, found.provider_kind) == (
        deal.workflow_id,
        payout_id,
        "mass",
    )
    assert found.items == [0, 1]
    assert found.amount == sum(request.recipients.amounts, Decimal(0))
