"""The `payouts` CLI against a live Temporal (the dev server) and a worker on the test's queue.

The unit tests cover input the CLI must refuse without Temporal; these cover what only a live
server can answer: a real payout end to end, and failures the server reports (an unknown key, a
finished saga, a key used by another payout), each of which must still be one line, not a trace.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from temporalio.testing import WorkflowEnvironment

from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.cli_runner import Ran, run_payouts
from tests.integration.conftest import TRON, Stack
from workflows.payout_models import PayoutResult

payouts = run_payouts


def one_line_failure(ran: Ran, code: int, *words: str) -> None:
    assert "Traceback" not in ran.err, ran.err
    assert ran.code == code, (ran.code, ran.err)
    assert len(ran.err_lines) == 1 and ran.err_lines[0].startswith("payouts: "), ran.err
    for word in words:
        assert word in ran.err_lines[0], ran.err


async def test_pay_status_and_list_a_real_payout(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    key = str(uuid.uuid4())
    pay = ["pay", "--to", TRON, "--amount", "25.50", "--currency", "usdt_trx", "--key", key]
    paid = await payouts(dev_stack, dev_server, *pay, "--wait", "--json")
    assert paid.code == 0, paid.err
    document = json.loads(paid.out)
    assert document["key"] == key and document["state"] == "COMPLETED"
    assert paid.out.count("\n") == 1
    assert Decimal(str(document["amount"])) == Decimal("25.50")

    shown = await payouts(dev_stack, dev_server, "status", key, "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["tx_hash"] == document["tx_hash"]

    async def listed() -> list[dict[str, Any]] | None:
        ran = await payouts(dev_stack, dev_server, "list", "--state", "COMPLETED", "--json")
        assert ran.code == 0, ran.err
        found: list[dict[str, Any]] = [p for p in json.loads(ran.out) if p["key"] == key]
        return found or None

    # Every probe starts a CLI process (seconds on a loaded 2-core machine): 30 s was tight.
    assert (await eventually(listed, deadline=120))[0]["currency"] == "USDT_TRX"

    again = await payouts(dev_stack, dev_server, *pay, "--json")  # same key, same payout
    assert again.code == 0 and json.loads(again.out)["key"] == key, again.err
    assert len(await dev_stack.provider_payouts()) == 1


async def test_status_of_an_unknown_key_is_one_line(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    unknown = str(uuid.uuid4())
    one_line_failure(await payouts(dev_stack, dev_server, "status", unknown), 1, unknown)


async def test_cancel_of_a_finished_payout_is_refused_in_one_line(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    saga = await dev_stack.start(dev_stack.payout())
    await saga_result(saga, PayoutResult)
    key = saga.id.removeprefix("payout-")
    ran = await payouts(dev_stack, dev_server, "cancel", key)
    assert "Traceback" not in ran.err, ran.err
    assert ran.code == 1, (ran.code, ran.out, ran.err)
    assert "not canceled" in ran.out and "COMPLETED" in ran.out


async def test_a_used_key_for_another_payout_is_refused_in_one_line(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    key = str(uuid.uuid4())
    pay = ["pay", "--to", TRON, "--currency", "USDT_TRX", "--key", key]
    first = await payouts(dev_stack, dev_server, *pay, "--amount", "10")
    assert first.code == 0, first.err
    other = await payouts(dev_stack, dev_server, *pay, "--amount", "11")
    one_line_failure(other, 2, key)


async def test_json_output_keeps_money_an_exact_number(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    """docs/architecture.md: money is an exact JSON number, never a float or a string."""
    saga = await dev_stack.start(dev_stack.payout(amount=Decimal("0.000001")))
    await saga_result(saga, PayoutResult)
    shown = await payouts(
        dev_stack, dev_server, "status", saga.id.removeprefix("payout-"), "--json"
    )
    assert shown.code == 0, shown.err
    document = json.loads(shown.out, parse_float=Decimal)
    assert document["amount"] == Decimal("0.000001"), shown.out[:200]
    assert isinstance(document["fee"], Decimal), shown.out[:200]
