"""Record an occurrence of a recurring payout (`RecurringPayout`) into
tests/histories/recurring/, for tests/test_replay_recurring.py.

    python -m tests.record_recurring_histories

The occurrence is started as a schedule starts it (its input as `PayoutSchedules` builds it) on
the dev server, against the sandbox; it derives its key, starts the saga, waits for it (overlap
hold) and ends. A second start of the same occurrence (same scheduled time) finds the saga and
ends at once: both histories are written.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from sandbox.server import running_sandbox
from starter.service.logging import configure_logging
from tests.contract.conftest import CONTROL_TIMEOUT, Control
from tests.integration.conftest import SANDBOX, TRON, start_stack
from tests.record_histories import temporal
from workflows.payout_models import PayoutRequest
from workflows.recurring import RecurringPayoutWorkflow
from workflows.recurring_models import RecurringPayoutInput, RecurringPayoutResult

RECURRING_HISTORIES = Path(__file__).parent / "histories" / "recurring"
SCHEDULED_START = "TemporalScheduledStartTime"


async def main() -> None:
    configure_logging("WARNING")
    RECURRING_HISTORIES.mkdir(parents=True, exist_ok=True)
    scheduled = SearchAttributeKey.for_datetime(SCHEDULED_START)
    when = datetime(2026, 11, 1, 8, tzinfo=UTC)
    request = RecurringPayoutInput(
        schedule_id="recorded-rent",
        payout=PayoutRequest(deposit_address=TRON, amount=Decimal("12.5"), currency="USDT_TRX"),
    )
    with running_sandbox(SANDBOX) as sandbox, tempfile.TemporaryDirectory() as tmp:
        async with (
            temporal(dev_server=True) as env,
            httpx.AsyncClient(base_url=sandbox.url, timeout=CONTROL_TIMEOUT) as http,
            start_stack(env.client, sandbox, Control(http), Path(tmp)) as stack,
        ):
            for name in ("occurrence_paid", "occurrence_fired_again"):
                handle = await stack.client.start_workflow(
                    RecurringPayoutWorkflow.run,
                    request,
                    id=f"recurring-payout-recorded-{uuid.uuid4()}",
                    task_queue=stack.task_queue,
                    search_attributes=TypedSearchAttributes([SearchAttributePair(scheduled, when)]),
                )
                result = await handle.result()
                assert isinstance(result, RecurringPayoutResult)
                assert result.started == (name == "occurrence_paid"), result
                target = RECURRING_HISTORIES / f"{name}.json"
                target.write_text((await handle.fetch_history()).to_json() + "\n")
                print(f"{name:<24} {result.state}  {target}")


if __name__ == "__main__":
    asyncio.run(main())
