"""Every documented error code, provoked through the real client and raised as the error tree."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import pytest

from calypso import errors
from calypso.client import CalypsoClient
from calypso.requests import CancelPayoutRequest, CreateMassPayoutRequest, MassAddress
from sandbox.server import SandboxHandle
from tests.contract.conftest import EVM, TRON, Control, credentials, eventually
from tests.contract.test_endpoints import payout_request


async def test_000_internal_error_is_transient(client: CalypsoClient, control: Control) -> None:
    await control.post("/sandbox/faults", {"failNext": 1})
    with pytest.raises(errors.ServerError) as caught:
        await client.get_account()
    assert caught.value.code == "000" and caught.value.retryable and caught.value.trace_id
    await client.get_account()  # the fault was used up


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": Decimal(0)}, "amount"),
        ({"amount": Decimal("-1")}, "amount"),
        ({"amount": Decimal("1.0000001")}, "amount"),  # USDT_TRX has 6 decimals
    ],
)
async def test_001_names_the_field(
    client: CalypsoClient, control: Control, overrides: dict[str, object], field: str
) -> None:
    with pytest.raises(errors.BadRequestError) as caught:
        await client.create_payout(payout_request(**overrides))
    assert caught.value.code == "001"
    assert field in caught.value.message


async def test_001_mass_payout_names_the_item(client: CalypsoClient, control: Control) -> None:
    items = [MassAddress(deposit_address=TRON, amount=Decimal(1)) for _ in range(3)]
    items[2] = MassAddress(deposit_address=TRON, amount=Decimal(0))
    with pytest.raises(errors.BadRequestError, match=r"massAddresses\[2\]"):
        await client.create_mass_payout(
            CreateMassPayoutRequest(
                currency="USDT_TRX", mass_addresses=items, idempotency_key=uuid.uuid4()
            )
        )


async def test_002_unknown_api_key(sandbox: SandboxHandle, control: Control) -> None:
    async with CalypsoClient(sandbox.url, credentials(key="nobody")) as stranger:
        with pytest.raises(errors.InvalidApiKeyError):
            await stranger.get_account()


async def test_003_wrong_secret(sandbox: SandboxHandle, control: Control) -> None:
    async with CalypsoClient(sandbox.url, credentials(secret="wrong")) as forger:
        with pytest.raises(errors.InvalidSignatureError):
            await forger.get_account()


async def test_004_not_found(client: CalypsoClient) -> None:
    with pytest.raises(errors.NotFoundError):
        await client.get_payout(id="does-not-exist")
    with pytest.raises(errors.NotFoundError):
        await client.get_payout(idempotency_key=uuid.uuid4())


async def test_011_skewed_clock_is_transient(sandbox: SandboxHandle, control: Control) -> None:
    async with CalypsoClient(sandbox.url, credentials(), clock=lambda: time.time() - 200) as late:
        with pytest.raises(errors.TimestampError) as caught:
            await late.get_account()
    assert caught.value.code == "011" and caught.value.retryable


async def test_012_cancel_after_completion(client: CalypsoClient, control: Control) -> None:
    created = await client.create_payout(payout_request())

    async def completed() -> bool:
        return (await client.get_payout(id=created.id)).state == "COMPLETED"

    await eventually(completed)
    with pytest.raises(errors.InvalidStateError):
        await client.cancel_payout(CancelPayoutRequest(deal_id=created.id))


async def test_014_unknown_currency(client: CalypsoClient) -> None:
    with pytest.raises(errors.CurrencyError) as caught:
        await client.create_payout(payout_request(currency="DOGGOCOIN"))
    assert caught.value.code == "014"


async def test_015_address_of_another_chain(client: CalypsoClient) -> None:
    with pytest.raises(errors.CurrencyError) as caught:
        await client.create_payout(payout_request(deposit_address=EVM))  # USDT_TRX wants Tron
    assert caught.value.code == "015"


async def test_016_duplicate_key_is_rejected_not_replayed(
    client: CalypsoClient, control: Control
) -> None:
    request = payout_request()
    await client.create_payout(request)
    with pytest.raises(errors.DuplicateKeyError):
        await client.create_payout(request)
    assert len(await control.get("/sandbox/payouts")) == 1
