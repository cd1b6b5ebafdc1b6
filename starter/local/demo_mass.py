"""The demo's mass payout: 250 recipients from a CSV, a few resent, one released."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from pathlib import Path

from activities.ledger import EntryState, SqliteLedger
from starter.api.mass import MassPayoutRequest, recipients_from_parsed
from starter.api.mass_csv import parse_mass_csv
from starter.api.payouts import Payouts
from starter.cli.mass_progress import REPORT_COLUMNS, follow_progress, write_report
from starter.cli.output import console, print_mass_progress
from starter.local.local_stack import LocalStack
from workflows.keys import mass_payout_workflow_id
from workflows.ledger_steps import item_ledger_key
from workflows.mass_models import ItemState
from workflows.payout_models import ResendPolicy, SagaState

CURRENCY = "USDT_TRX"
RECIPIENTS = 250
FAILS_ONCE = (17, 120, 233)  # sandbox test card `f1a1`: rejected once, paid when resent
FAILS_ALWAYS = 42  # test card `fa11`: rejected every time, so released
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def demo_csv() -> bytes:
    """A payroll-style CSV (header, `;`, quoted comments) with distinct Tron recipients."""
    lines = ["address;amount;comment;reference"]
    for n in range(RECIPIENTS):
        suffix = "f1a1" if n in FAILS_ONCE else "fa11" if n == FAILS_ALWAYS else "Zzzz"
        address = "TJRyWwFs9wTFGZg3JbrVriFbN" + _base58(n, 5) + suffix  # T + 33 base58
        amount = Decimal("1.25") + Decimal(n % 7) / 4
        lines.append(f'{address};{amount};"season 3; player {n}";player-{n}')
    return ("\n".join(lines) + "\n").encode()


async def run_mass_demo(stack: LocalStack, payouts: Payouts, ledger: SqliteLedger | None) -> None:
    directory = Path(stack.settings.home)
    csv_path, data = _save(directory / "demo-recipients.csv", demo_csv())
    parsed = parse_mass_csv(data, currency=CURRENCY)
    expect(parsed.ok, f"CSV problems: {parsed.errors[:3]}")
    console.rule(f"6. a mass payout of {len(parsed.items)} recipients from {csv_path}")
    recipients = recipients_from_parsed(parsed)
    preview = await payouts.mass.preview(CURRENCY, recipients)
    console.print(
        f"{preview.count} recipients, total {preview.total} {CURRENCY}, "
        f"fee quote {preview.fee}, balance {preview.balance}"
    )
    key = await payouts.mass.start(
        MassPayoutRequest(
            currency=CURRENCY,
            recipients=recipients,
            name="demo: season 3 rewards",
            idempotency_key=uuid.uuid4(),
            ledger_account="demo",
            resend=ResendPolicy(max_resends=1, delay_seconds=1),
        )
    )
    progress = await follow_progress(payouts, key)
    print_mass_progress(progress)
    report = io.StringIO()
    write_report(report, [item async for item in payouts.mass.report(key)])
    report_path, _ = _save(directory / "demo-report.csv", report.getvalue().encode())
    console.print(f"per-item report ({', '.join(REPORT_COLUMNS)}): {report_path}")
    console.print(f"Temporal UI: {stack.workflow_url(mass_payout_workflow_id(key))}\n")
    expect(progress.state == SagaState.PARTIAL, f"state {progress.state}")
    expect(progress.counts.get(ItemState.FAILED) == 1, f"counts {progress.counts}")
    expect(progress.counts.get(ItemState.COMPLETED) == RECIPIENTS - 1, f"counts {progress.counts}")
    if ledger is not None:
        released = await ledger.entry(item_ledger_key(key, FAILS_ALWAYS))
        resent = await ledger.entry(item_ledger_key(key, FAILS_ONCE[0]))
        expect(released is not None and released.state == EntryState.RELEASED, "released")
        expect(resent is not None and resent.state == EntryState.SETTLED, "resent and settled")


def _save(path: Path, data: bytes) -> tuple[Path, bytes]:
    """Write a demo file in the demo's home (where the user can open it) and return what's in
    it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, path.read_bytes()


def _base58(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(_BASE58))
        digits.append(_BASE58[digit])
    return "".join(reversed(digits))


class DemoError(Exception):
    """Raised when a demo step does not end as the demo says it will."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoError(f"unexpected {what}")
