"""`payouts list` shows payouts and mass payouts — never their helper workflows — with a header
row, amounts from the memo, and filters; the README's saved views are valid queries that find the
same sagas and hide the mass deals and fee previews."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from temporalio.testing import WorkflowEnvironment

from starter.api import MassPayoutRequest, PayoutRequest, Payouts
from starter.service.settings import Settings
from tests.contract.conftest import eventually
from tests.integration.cli_runner import ROOT, run_payouts
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import FAILS, recipients, tron
from workflows.payout_models import SagaState

HELPER_TYPES = {"MassPayoutDeal", "MassPayoutPreview"}


def saved_views() -> dict[str, str]:
    """The README's saved views: view name -> query."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Saved views", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| ([^|`]+?) \| `([^`]+)` \|$", section, flags=re.MULTILINE))


async def started(stack: Stack) -> dict[str, str]:
    """A paid payout, an unpaid one and a two-item mass payout (with its preview and deal), all
    ended and visible; their keys by name."""
    payouts = Payouts(stack.client, Settings(task_queue=stack.task_queue, poll_interval_seconds=1))
    paid = await payouts.start(
        PayoutRequest(deposit_address=TRON, amount=Decimal("25.50"), currency="USDT_TRX")
    )
    unpaid = await payouts.start(
        PayoutRequest(deposit_address=FAILS, amount=Decimal("3"), currency="USDT_TRX")
    )
    listed = recipients([tron(1), tron(2)], [Decimal("1.25"), Decimal("2.25")])
    await payouts.mass.preview("USDT_TRX", listed)
    mass = await payouts.mass.start(
        MassPayoutRequest(currency="USDT_TRX", recipients=listed, name="list test")
    )
    keys = {"paid": str(paid), "unpaid": str(unpaid), "mass": str(mass)}
    for key in (paid, unpaid, mass):
        await payouts.result(key)

    async def all_ended() -> bool:
        found = {item.key: item for item in await payouts.list(limit=1000)}
        states = [found[key].state if key in found else None for key in keys.values()]
        return states == ["COMPLETED", "FAILED", "COMPLETED"]

    await eventually(all_ended, deadline=60)  # visibility lags the sagas a little
    return keys


async def test_list_shows_both_kinds_with_a_header_filters_and_json(
    dev_stack: Stack, dev_server: WorkflowEnvironment
) -> None:
    keys = await started(dev_stack)

    async def cli(*args: str) -> str:
        ran = await run_payouts(dev_stack, dev_server, "list", "--limit", "1000", *args)
        assert ran.code == 0, ran.err
        return ran.out

    async def cli_json(*args: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(await cli(*args, "--json"))
        return found

    header, *rows = (await cli()).splitlines()
    assert header.split() == ["key", "kind", "state", "amount", "currency", "created",
                              "execution", "date"]  # fmt: skip
    by_key = {row.split()[0]: row.split() for row in rows}
    assert by_key[keys["paid"]][1:5] == ["single", "COMPLETED", "25.50", "USDT_TRX"]
    assert by_key[keys["unpaid"]][1:5] == ["single", "FAILED", "3", "USDT_TRX"]
    assert by_key[keys["mass"]][1:7] == ["mass", "COMPLETED", "3.50", "(2", "items)", "USDT_TRX"]

    everything = await cli_json()
    assert {entry["kind"] for entry in everything} <= {"single", "mass"}
    assert not [e for e in everything if e["key"].startswith(("mass-deal-", "mass-preview-"))]
    mine = {entry["key"]: entry for entry in everything if entry["key"] in keys.values()}
    assert Decimal(str(mine[keys["mass"]]["amount"])) == Decimal("3.50")
    assert mine[keys["mass"]]["items"] == 2 and mine[keys["paid"]]["started_at"]

    only_mass = {entry["key"] for entry in await cli_json("--kind", "MASS")}
    assert keys["mass"] in only_mass and keys["paid"] not in only_mass
    failed = {e["key"] for e in await cli_json("--state", "failed", "--currency", "usdt_trx")}
    assert keys["unpaid"] in failed and not {keys["paid"], keys["mass"]} & failed
    assert not {e["key"] for e in await cli_json("--currency", "BTC")} & set(keys.values())


async def test_the_readme_saved_views_find_the_sagas_and_hide_the_helpers(
    dev_stack: Stack,
) -> None:
    keys = await started(dev_stack)
    views = saved_views()
    hide_helpers = "Payouts only (no previews, no deals)"
    assert set(views) >= {"Payouts", "Mass payouts", "Not paid", hide_helpers}
    for query in views.values():  # every state a view names is a state a saga can be in
        assert set(re.findall(r"'([A-Z_]+)'", query)) <= set(SagaState), query

    # The preview ran on this test's task queue and is searchable as one.
    previews = f"PayoutKind = 'preview' AND TaskQueue = '{dev_stack.task_queue}'"

    async def preview_types() -> set[str] | None:
        found = {e.workflow_type async for e in dev_stack.client.list_workflows(previews)}
        return found or None

    assert await eventually(preview_types, deadline=60) == {"MassPayoutPreview"}

    async def found(view: str) -> tuple[set[str], set[str]]:
        query = f"({views[view]}) AND TaskQueue = '{dev_stack.task_queue}'"
        executions = [e async for e in dev_stack.client.list_workflows(query)]
        ids = {e.id.removeprefix("mass-payout-").removeprefix("payout-") for e in executions}
        return ids, {e.workflow_type for e in executions}

    expected = {
        "Payouts": {keys["paid"], keys["unpaid"]},
        "Mass payouts": {keys["mass"]},
        "Not paid": {keys["unpaid"]},
        hide_helpers: set(keys.values()),
    }
    for view, wanted in expected.items():

        async def matches(view: str = view, wanted: set[str] = wanted) -> bool:
            ids, types = await found(view)
            assert not types & HELPER_TYPES, (view, types)
            return ids == wanted

        assert await eventually(matches, deadline=60), view
    for view in views:  # the others are valid queries too
        await found(view)
