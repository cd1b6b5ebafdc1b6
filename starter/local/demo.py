"""`payouts demo`: the saga on the local stack, three ways.

1. A payout that runs to COMPLETED and settles its ledger reservation.
2. A future-dated payout that is rescheduled, then canceled before the provider hears of it.
3. A payout to an address the sandbox fails on the network: resent once, fails again, and the
   reservation is released (compensation).
4. A payout the demo's policy holds for approval: approved by someone other than its requester,
   then paid.
5. A monthly rent on a Temporal Schedule whose last month is run twice, as a retried firing
   would: one key, one saga, paid once.
6. A 250-recipient mass payout from a CSV: three items fail on the network, are resent and end
   COMPLETED; one fails for good and is released; a per-item report is written.
Each prints its timeline (or progress) and its link in the Temporal UI; the demo exits 0 only if
all end as described.

The demo keeps nothing of `payouts dev`'s: a dev server in memory, its own task queue, and its
own ledger and payload store in PAYOUTS_HOME/demo, emptied at each start, so every run starts
from the same place and a dev stack's sagas and reservations are never touched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from activities.ledger import EntryState, SqliteLedger
from starter.api.payouts import PayoutRequest, Payouts
from starter.cli.output import console, print_status
from starter.local.demo_controls import run_approval_demo, write_demo_policy
from starter.local.demo_mass import DemoError, expect, run_mass_demo
from starter.local.demo_recurring import run_recurring_demo
from starter.local.local_stack import LocalStack, local_stack
from starter.service.settings import Settings
from workflows.keys import single_payout_workflow_id
from workflows.payout_models import ResendPolicy, SagaState

CURRENCY = "USDT_TRX"
RECIPIENT = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
FAILS_ON_NETWORK = RECIPIENT[:-4] + "fa11"  # a sandbox test card: the network rejects it
LEDGER_ACCOUNT = "demo"
DEADLINE_SECONDS = 240.0


def demo_settings(settings: Settings) -> Settings:
    """`settings` with the demo's own home (PAYOUTS_HOME/demo, emptied), ledger file, payload
    store and task queue."""
    home = Path(settings.home) / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    return dataclasses.replace(
        settings,
        home=str(home),
        ledger_path=str(home / "ledger.sqlite3"),
        payload_dir=str(home / "payloads"),
        task_queue=f"{settings.task_queue}-demo",
        policy_path=write_demo_policy(home),
    )


async def run_demo(settings: Settings) -> int:
    settings = demo_settings(settings)
    async with local_stack(settings) as stack:
        ledger = SqliteLedger(settings.ledger_path) if settings.ledger == "sqlite" else None
        if ledger is not None:
            await ledger.fund(LEDGER_ACCOUNT, CURRENCY, Decimal(1000))
        payouts = Payouts(stack.client, settings)
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                settled = await _completed(stack, payouts)
                canceled = await _rescheduled_then_canceled(stack, payouts)
                failed = await _failed_and_compensated(stack, payouts)
                approved = await run_approval_demo(stack, payouts, ledger, _request())
                await run_recurring_demo(stack, payouts, settings, _request())
                await run_mass_demo(stack, payouts, ledger)
            if ledger is not None:
                await _check_ledger(ledger, settled, EntryState.SETTLED)
                await _check_ledger(ledger, canceled, EntryState.RELEASED)
                await _check_ledger(ledger, failed, EntryState.RELEASED)
                await _check_ledger(ledger, approved, EntryState.SETTLED)
        except (DemoError, TimeoutError) as exc:
            console.print(f"[red]demo failed: {exc or 'timed out'}[/]")
            return 1
        finally:
            if ledger is not None:
                await ledger.close()
        console.rule("done")
        console.print(f"Browse every payout in the Temporal UI: {stack.ui_url}")
        return 0


async def _check_ledger(ledger: SqliteLedger, key: uuid.UUID, expected: EntryState) -> None:
    entry = await ledger.entry(str(key))
    console.print(f"ledger {key}: {entry.state if entry else 'missing'}")
    expect(entry is not None and entry.state == expected, f"ledger entry for {key}")


def _request(address: str = RECIPIENT, **extra: object) -> PayoutRequest:
    return PayoutRequest.model_validate(
        {
            "deposit_address": address,
            "amount": Decimal("25.50"),
            "currency": CURRENCY,
            "ledger_account": LEDGER_ACCOUNT,
            "idempotency_key": uuid.uuid4(),
            **extra,
        }
    )


async def _show(stack: LocalStack, payouts: Payouts, key: uuid.UUID, title: str) -> SagaState:
    status = await payouts.status(key)
    console.rule(title)
    print_status(status)
    console.print(f"Temporal UI: {stack.workflow_url(single_payout_workflow_id(key))}\n")
    return status.state


async def _completed(stack: LocalStack, payouts: Payouts) -> uuid.UUID:
    key = await payouts.start(_request(comment="demo: runs to COMPLETED"))
    result = await payouts.result(key)
    await _show(stack, payouts, key, "1. a payout to COMPLETED")
    _expect(result.state, SagaState.COMPLETED)
    return key


async def _rescheduled_then_canceled(stack: LocalStack, payouts: Payouts) -> uuid.UUID:
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    key = await payouts.start(_request(execution_date=tomorrow, comment="demo: future-dated"))
    while (await payouts.status(key)).state != SagaState.SCHEDULED:
        await asyncio.sleep(0.1)
    await payouts.reschedule(key, tomorrow + timedelta(days=1))
    canceled = await payouts.cancel(key, "demo: no longer needed")
    await _show(stack, payouts, key, "2. future-dated, rescheduled, then canceled")
    _expect(canceled.state, SagaState.CANCELED)
    return key


async def _failed_and_compensated(stack: LocalStack, payouts: Payouts) -> uuid.UUID:
    key = await payouts.start(
        _request(
            FAILS_ON_NETWORK,
            resend=ResendPolicy(max_resends=1, delay_seconds=1),
            comment="demo: fails on the network",
        )
    )
    result = await payouts.result(key)
    await _show(stack, payouts, key, "3. fails, is resent once, fails again, and is compensated")
    _expect(result.state, SagaState.FAILED)
    return key


def _expect(actual: SagaState, expected: SagaState) -> None:
    expect(actual == expected, f"state {actual} (expected {expected})")
