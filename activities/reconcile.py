"""The reconciliation activity: the provider, the sagas and the ledger, compared over a window.

It runs on the worker, because the provider's secret and the ledger live there: the provider is
read through the worker's signed client, the sagas through Temporal's visibility
(`activity.client()`), the ledger through the worker's own. It only reads; the report says what
disagrees (`workflows/reconcile_models.py`) and people decide.

Unlike the other activities it imports saga code from `workflows/` (keys, search attributes, the
sagas' input and result models): comparing with the sagas means reading them as they are written.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio import activity
from temporalio.client import Client

from activities.boundary import as_application_errors
from activities.ledger import Ledger
from activities.reconcile_deals import compare_masses
from activities.reconcile_findings import Comparison, Findings
from activities.reconcile_ledger import ListableLedger, held_reservations, listable
from activities.reconcile_provider import read_provider
from activities.reconcile_sagas import Sagas
from activities.reconcile_singles import compare_singles
from calypso.client import CalypsoClient
from workflows.reconcile_models import (
    MAX_LISTED,
    DiscrepancyKind,
    ReconcileReport,
    ReconcileRequest,
)

if TYPE_CHECKING:
    from activities.payout_activities import PayoutActivities

# A reservation whose saga cannot be found yet may be younger than visibility's lag.
VISIBILITY_GRACE = timedelta(minutes=1)


class ReconcileActivities:
    def __init__(self, client: CalypsoClient, ledger: Ledger) -> None:
        self._client = client
        self._ledger = ledger

    @classmethod
    def beside(cls, payouts: PayoutActivities) -> ReconcileActivities:
        """Sharing the payout activities' provider client and ledger: one pool, one ledger."""
        return cls(payouts._client, payouts._ledger)

    @activity.defn(name="reconcile")
    async def reconcile(self, request: ReconcileRequest) -> ReconcileReport:
        with as_application_errors():
            return await reconcile(activity.client(), self._client, self._ledger, request)

    def all(self) -> list[Callable[..., Any]]:
        return [self.reconcile]


async def reconcile(
    temporal: Client, calypso: CalypsoClient, ledger: object, request: ReconcileRequest
) -> ReconcileReport:
    now = datetime.now(UTC)
    sagas = Sagas(temporal, request.task_queue)
    await sagas.load_window(request.since)
    provider = await read_provider(calypso, request.since)
    keys = [payout.idempotency_key for payout in provider.singles]
    keys += [mass.payout.idempotency_key for mass in provider.masses]
    await sagas.look_up(
        workflow_id
        for key in keys
        if sagas.owner(key) is None
        for workflow_id in Sagas.candidates(key)
    )
    books = listable(ledger)
    stale_after = timedelta(seconds=request.stale_after_seconds)
    cmp = Comparison(calypso, sagas, books, Findings(), now, stale_after)
    await compare_singles(cmp, provider.singles)
    await compare_masses(cmp, provider.masses)
    checked = await compare_reservations(cmp, books) if books is not None else 0
    found = cmp.findings.discrepancies
    return ReconcileReport(
        since=request.since,
        generated_at=now,
        task_queue=request.task_queue,
        provider_payouts=len(provider.singles),
        provider_mass_payouts=len(provider.masses),
        sagas=len(sagas.in_window),
        reservations_checked=checked,
        in_flight=cmp.findings.in_flight,
        ledger_checked=books is not None,
        discrepancies=found[:MAX_LISTED],
        omitted=max(0, len(found) - MAX_LISTED),
    )


async def compare_reservations(cmp: Comparison, ledger: ListableLedger) -> int:
    """Every reservation still held, whatever its age, against its saga: held by a saga that
    has ended, or that does not exist, it is money nobody will release. Returns how many."""
    count, held = await held_reservations(ledger)
    await cmp.sagas.look_up(group.workflow_id for group in held)
    for group in held:
        saga = cmp.sagas.get(group.workflow_id)
        if saga is not None and saga.running:
            continue
        if saga is None and cmp.now - group.latest < VISIBILITY_GRACE:
            continue
        how = "does not exist" if saga is None else f"has ended {saga.describe()}"
        what = f"{len(group.items)} items" if group.items else "its payout"
        cmp.findings.add(
            DiscrepancyKind.RESERVATION_HELD_BY_ENDED_SAGA,
            f"{group.amount} {group.currency} still reserved for {what} of {group.workflow_id}, "
            f"which {how}",
            workflow_id=group.workflow_id,
            key=group.key,
            saga_state=saga.describe() if saga is not None else "NOT_FOUND",
            our_value="RESERVED",
            currency=group.currency,
            amount=group.amount,
            items=group.items,
        )
    return count
