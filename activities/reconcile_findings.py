"""What the comparisons share: the discrepancies found so far, and what they compare with."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from temporalio import activity

from workflows.reconcile_models import Discrepancy, DiscrepancyKind

if TYPE_CHECKING:
    from activities.reconcile_ledger import ListableLedger
    from activities.reconcile_sagas import Sagas
    from calypso.client import CalypsoClient


def beat(detail: str) -> None:
    """A heartbeat when running as an activity (the comparison also runs outside one)."""
    if activity.in_activity():
        activity.heartbeat(detail)


@dataclass
class Findings:
    discrepancies: list[Discrepancy] = field(default_factory=list)
    in_flight: int = 0

    def add(self, kind: DiscrepancyKind, detail: str, **fields: Any) -> None:
        self.discrepancies.append(Discrepancy(kind=kind, detail=detail, **fields))

    def mismatch(
        self, field_name: str, provider: object, ours: object, detail: str, **fields: Any
    ) -> None:
        """A value that differs; `None` on either side means unknown there, not different.
        `ledger.<name>` fields compare with the ledger, the others with the saga."""
        if provider is None or ours is None or provider == ours:
            return
        where = "ledger" if field_name.startswith("ledger.") else "saga"
        self.add(
            DiscrepancyKind.MISMATCH,
            f"{detail}: {field_name.removeprefix('ledger.')} {_text(provider)} at the provider, "
            f"{_text(ours)} in the {where}",
            field=field_name,
            provider_value=_text(provider),
            our_value=_text(ours),
            **fields,
        )


@dataclass
class Comparison:
    """The three sources and the clock one run compares them by."""

    calypso: CalypsoClient
    sagas: Sagas
    ledger: ListableLedger | None
    findings: Findings
    now: datetime
    stale_after: timedelta

    def stale(self, created: datetime | None) -> bool:
        """Whether a payout the provider created then has had time to be finished by its saga."""
        return created is not None and self.now - created > self.stale_after


def _text(value: object) -> str:
    return f"{value:f}" if isinstance(value, Decimal) else str(value)
