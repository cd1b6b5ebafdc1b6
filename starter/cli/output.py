"""How the CLI prints sagas: a readable view on a terminal, one JSON document with --json."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import simplejson
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from starter.api import PayoutSummary
from starter.service.settings import Settings
from workflows.approval_models import ApprovalStatus
from workflows.mass_models import MassPayoutResult, MassProgress
from workflows.payout_models import PayoutResult, PayoutStatus

# Off a terminal (CI logs, pipes) rich would wrap at 80 columns; timelines read better wider.
console = Console() if sys.stdout.isatty() else Console(width=140)


def emit_json(model: BaseModel | list[BaseModel]) -> None:
    """One JSON document; money stays an exact number, as on the provider's wire."""
    value: Any = (
        [item.model_dump(mode="python") for item in model]
        if isinstance(model, list)
        else model.model_dump(mode="python")
    )
    print(simplejson.dumps(value, use_decimal=True, default=_plain))


def _plain(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def people(as_json: bool) -> Console:
    """Where lines for people go: stdout, or stderr with --json (stdout holds one document)."""
    return Console(stderr=True, soft_wrap=True) if as_json else console


def announce_key(say: Console, noun: str, key: uuid.UUID) -> None:
    """A generated key, shown before anything connects: a run that fails after this line is
    retried with the same key, so it can never pay twice."""
    say.print(f"key {key} (generated; to retry this {noun}, pass --key {key})", soft_wrap=True)


def ui_link(settings: Settings, workflow_id: str) -> str:
    """The saga's page in the Temporal Web UI (PAYOUTS_UI_URL)."""
    namespace = quote(settings.temporal_namespace, safe="")
    return f"{settings.ui_url}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"


def announce_started(say: Console, noun: str, key: uuid.UUID, link: str) -> None:
    """The moment Temporal accepts the start: before anything that needs a worker."""
    say.print(f"started {noun} {key}\n  Temporal UI: {link}", soft_wrap=True, highlight=False)


def print_result(result: PayoutResult | MassPayoutResult) -> None:
    """How a payout (single or mass) ended."""
    console.print(f"[bold]{result.state}[/] · {result.key}", highlight=False)
    if isinstance(result, MassPayoutResult):
        counts = ", ".join(f"{state.lower()} {n}" for state, n in result.counts.items() if n)
        facts = {
            "items": counts,
            "paid": str(result.paid),
            "released": str(result.released),
            "fees": str(result.fees),
            "deals": str(len(result.deals)),
            "not cancelable": ", ".join(map(str, result.not_cancelable)),
            "reason": result.reason,
        }
    else:
        facts = {
            "provider id": result.provider_id,
            "fee": str(result.fee) if result.fee is not None else None,
            "tx hash": result.tx_hash,
            "attempts": str(result.attempts) if result.attempts else None,
            "reason": result.reason,
        }
    for name, value in facts.items():
        if value:
            console.print(f"  {name:>14}: {value}", highlight=False, soft_wrap=True)


LIST_COLUMNS = ("key", "kind", "state", "amount", "currency", "created", "execution date")


def print_payout_list(found: Sequence[PayoutSummary]) -> None:
    """One header row, then one aligned row per payout; '?' where the saga did not say."""
    rows = [LIST_COLUMNS] + [
        (
            item.key,
            item.kind,
            item.state or "?",
            _amount(item.amount, item.items),
            item.currency or "?",
            _when(item.started_at) or "?",
            _when(item.execution_date) or "-",
        )
        for item in found
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(LIST_COLUMNS))]
    for row in rows:
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        console.print(line.rstrip(), highlight=False, soft_wrap=True, markup=False)


def _amount(amount: Decimal | None, items: int | None) -> str:
    if amount is None:
        return "?"
    return f"{amount} ({items} items)" if items is not None else str(amount)


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def print_status(status: PayoutStatus | MassProgress) -> None:
    """A payout's state, facts and timeline; a mass payout's counts and deals."""
    if isinstance(status, MassProgress):
        print_mass_progress(status)
        return
    provider = f" · provider {status.provider_state}" if status.provider_state else ""
    console.print(
        f"[bold]{status.state}[/]{provider} · {status.amount} {status.currency} → "
        f"{status.deposit_address}"
    )
    facts = {
        "key": str(status.key),
        "provider id": status.provider_id,
        "fee": f"{status.fee} {status.currency}" if status.fee is not None else None,
        "tx hash": status.tx_hash,
        "reason": status.reason,
        "detail": status.detail if status.detail != status.reason else None,
        "errors": "; ".join(status.errors) or None,
        "attempts": str(len(status.attempts)) if status.attempts else None,
        "execution date": status.execution_date.isoformat() if status.execution_date else None,
        "next poll": status.next_poll_at.isoformat() if status.next_poll_at else None,
        **controls_facts(status.policy_version, status.requested_by, status.approval),
    }
    for name, value in facts.items():
        if value:
            console.print(f"  {name:>14}: {value}")
    print_timeline(status)


def controls_facts(
    policy_version: str | None, requested_by: str | None, approval: ApprovalStatus | None
) -> dict[str, str | None]:
    """The operator's controls in a status: the policy, the requester, the approval."""
    facts: dict[str, str | None] = {"policy": policy_version, "requested by": requested_by}
    if approval is not None:
        people = "two approvers" if approval.approvers == 2 else "one approver"
        decided = ", ".join(f"{d.decision} by {d.by}" for d in approval.decisions)
        facts["approval"] = f"{people} before {approval.expires_at.isoformat()}" + (
            f"; {decided}" if decided else ""
        )
    return facts


def print_timeline(status: PayoutStatus) -> None:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("time", "source", "event", "state", "note"):
        table.add_column(column)
    for entry in status.timeline:
        table.add_row(
            entry.at.strftime("%H:%M:%S.%f")[:-3],
            entry.source,
            entry.event,
            entry.state or "",
            entry.note or "",
        )
    console.print(table)


def print_mass_progress(progress: MassProgress, *, deals_shown: int = 20) -> None:
    console.print(
        f"[bold]{progress.state}[/] · {progress.items} recipients · {progress.total} "
        f"{progress.currency}"
    )
    counts = ", ".join(f"{state.lower()} {n}" for state, n in progress.counts.items() if n)
    console.print(f"  items: {counts}")
    console.print(
        f"  paid {progress.paid} · failed {progress.failed} · released {progress.released} · "
        f"fees {progress.fees} · provider deals sent {progress.provider_deals_sent}"
    )
    if progress.reason:
        console.print(f"  reason: {progress.reason}")
    controls = controls_facts(progress.policy_version, progress.requested_by, progress.approval)
    for name, value in controls.items():
        if value:
            console.print(f"  {name}: {value}")
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("deal", "items", "state", "attempts", "workflow"):
        table.add_column(column)
    for deal in progress.deals[:deals_shown]:
        table.add_row(
            str(deal.index), str(deal.items), deal.state, str(deal.attempts), deal.workflow_id
        )
    console.print(table)
    if len(progress.deals) > deals_shown:
        console.print(f"  … and {len(progress.deals) - deals_shown} more deals")
