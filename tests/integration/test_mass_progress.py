"""The mass progress view moves while deals are paying: items count as sent once their deal
exists at the provider, long before the provider reports any of them ended."""

from __future__ import annotations

from starter.api.outcomes import saga_result
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON, Stack
from tests.integration.mass_support import mass_input, payouts_api, start_mass
from workflows.mass_models import ItemState, MassPayoutResult
from workflows.mass_payout import MassPayoutWorkflow
from workflows.payout_models import SagaState


async def test_items_count_as_sent_while_their_deals_wait_at_the_provider(dev_stack: Stack) -> None:
    stack = dev_stack
    await stack.sandbox.post("/sandbox/config", {"verification": True})  # deals wait for us
    request = mass_input([TRON] * 5, items_per_deal=2, poll_interval_seconds=1)
    handle = await start_mass(stack, request)
    mass = payouts_api(stack).mass

    async def all_sent() -> int | None:
        progress = await handle.query(MassPayoutWorkflow.progress)
        sent = await mass.items_sent(progress)
        return sent if sent == 5 else None

    assert await eventually(all_sent, deadline=60) == 5
    progress = await handle.query(MassPayoutWorkflow.progress)
    assert progress.counts[ItemState.PENDING] == 5, "nothing has ended yet"

    for deal in await stack.provider_payouts(kind="mass"):
        await stack.sandbox.post(f"/sandbox/payouts/{deal['id']}/confirm")
    result = await saga_result(handle, MassPayoutResult)
    assert result.state == SagaState.COMPLETED
    assert await mass.items_sent(await handle.query(MassPayoutWorkflow.progress)) == 5
