"""The semantics every adapter shares, run against SqliteLedger, PostgresLedger and HttpLedger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from activities.ledger import (
    EntryState,
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerNotFoundError,
    LedgerStateError,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)
from tests.ledger.conftest import LOOP, LedgerUnderTest

pytestmark = LOOP

D = Decimal


def reserve(
    key: str, amount: str, sub_account: str = "acme", currency: str = "USDT"
) -> ReserveRequest:
    return ReserveRequest(key=key, sub_account=sub_account, currency=currency, amount=D(amount))


async def funded(t: LedgerUnderTest, amount: str, currency: str = "USDT") -> None:
    await t.books.fund("acme", currency, D(amount))


async def test_reserve_twice_holds_the_money_once(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "100")
    first = await under_test.ledger.reserve(reserve("p-1", "40"))
    again = await under_test.ledger.reserve(reserve("p-1", "40.00"))  # same amount, other scale
    assert first.state is EntryState.RESERVED
    assert again == first
    balance = await under_test.books.balance("acme", "USDT")
    assert (balance.available, balance.reserved, balance.settled) == (D(60), D(40), D(0))


@pytest.mark.parametrize(
    "changed",
    [reserve("p-1", "41"), reserve("p-1", "40", currency="USDC"), reserve("p-1", "40", "other")],
    ids=["amount", "currency", "sub_account"],
)
async def test_same_key_other_content_conflicts(
    under_test: LedgerUnderTest, changed: ReserveRequest
) -> None:
    await funded(under_test, "100")
    await funded(under_test, "100", currency="USDC")
    await under_test.ledger.reserve(reserve("p-1", "40"))
    with pytest.raises(LedgerConflictError) as caught:
        await under_test.ledger.reserve(changed)
    assert caught.value.retryable is False


async def test_reserve_beyond_available_names_the_shortfall(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "10.5")
    await under_test.ledger.reserve(reserve("p-1", "10"))
    with pytest.raises(InsufficientLedgerFundsError) as caught:
        await under_test.ledger.reserve(reserve("p-2", "0.75"))
    error = caught.value
    assert (error.sub_account, error.currency, error.needed, error.available) == (
        "acme",
        "USDT",
        D("0.75"),
        D("0.5"),
    )
    assert "acme" in str(error) and "0.75" in str(error) and not error.retryable
    assert await under_test.books.entry("p-2") is None


async def test_an_unfunded_sub_account_has_nothing_available(under_test: LedgerUnderTest) -> None:
    with pytest.raises(InsufficientLedgerFundsError) as caught:
        await under_test.ledger.reserve(reserve("p-1", "1", sub_account="nobody"))
    assert caught.value.available == 0


async def test_settle_consumes_the_reservation_and_charges_the_fee_on_top(
    under_test: LedgerUnderTest,
) -> None:
    await funded(under_test, "100")
    await under_test.ledger.reserve(reserve("p-1", "10"))
    settled = await under_test.ledger.settle(
        SettleRequest(key="p-1", paid_amount=D("10"), fee=D("0.5"))
    )
    assert (settled.state, settled.amount, settled.paid_amount, settled.fee) == (
        EntryState.SETTLED,
        D(10),
        D(10),
        D("0.5"),
    )
    again = await under_test.ledger.settle(SettleRequest(key="p-1", paid_amount=D("10"), fee=D(1)))
    assert again == settled  # the first settlement wins
    balance = await under_test.books.balance("acme", "USDT")
    assert (balance.available, balance.reserved, balance.settled) == (D("89.5"), D(0), D("10.5"))


async def test_settle_returns_what_the_payout_did_not_use(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "100")
    await under_test.ledger.reserve(reserve("p-1", "10"))
    # Fee taken out of the amount: 9.5 reached the recipient, 0.5 went to the provider.
    await under_test.ledger.settle(SettleRequest(key="p-1", paid_amount=D("9.5"), fee=D("0.5")))
    balance = await under_test.books.balance("acme", "USDT")
    assert (balance.available, balance.reserved, balance.settled) == (D(90), D(0), D(10))


async def test_settle_refuses_paying_more_than_was_reserved(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "100")
    await under_test.ledger.reserve(reserve("p-1", "10"))
    with pytest.raises(LedgerConflictError):
        await under_test.ledger.settle(SettleRequest(key="p-1", paid_amount=D("10.01")))


async def test_settle_of_an_unknown_key_is_not_found(under_test: LedgerUnderTest) -> None:
    with pytest.raises(LedgerNotFoundError) as caught:
        await under_test.ledger.settle(SettleRequest(key="never", paid_amount=D(1)))
    assert caught.value.retryable is False


async def test_release_makes_the_money_available_again_once(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "100")
    await under_test.ledger.reserve(reserve("p-1", "30"))
    released = await under_test.ledger.release(ReleaseRequest(key="p-1", reason="FAILED"))
    again = await under_test.ledger.release(ReleaseRequest(key="p-1", reason="CANCELED"))
    assert released.state is EntryState.RELEASED and released.reason == "FAILED"
    assert again == released
    balance = await under_test.books.balance("acme", "USDT")
    assert (balance.available, balance.reserved, balance.settled) == (D(100), D(0), D(0))


async def test_settle_after_release_is_refused(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "100")
    await under_test.ledger.reserve(reserve("p-1", "30"))
    await under_test.ledger.release(ReleaseRequest(key="p-1", reason="CANCELED"))
    with pytest.raises(LedgerStateError) as caught:
        await under_test.ledger.settle(SettleRequest(key="p-1", paid_amount=D(30)))
    assert caught.value.retryable is False


async def test_release_after_settle_is_refused(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "100")
    await under_test.ledger.reserve(reserve("p-1", "30"))
    await under_test.ledger.settle(SettleRequest(key="p-1", paid_amount=D(30)))
    with pytest.raises(LedgerStateError):
        await under_test.ledger.release(ReleaseRequest(key="p-1", reason="late FAILED"))
    assert (await under_test.books.balance("acme", "USDT")).settled == D(30)


async def test_release_before_reserve_leaves_a_tombstone_that_blocks_a_late_reserve(
    under_test: LedgerUnderTest,
) -> None:
    await funded(under_test, "100")
    tombstone = await under_test.ledger.release(
        ReleaseRequest(key="mass/item/3", reason="REJECTED")
    )
    assert (tombstone.state, tombstone.amount, tombstone.sub_account) == (
        EntryState.RELEASED,
        D(0),
        None,
    )
    assert await under_test.ledger.release(ReleaseRequest(key="mass/item/3")) == tombstone
    with pytest.raises(LedgerStateError):
        await under_test.ledger.reserve(reserve("mass/item/3", "5"))
    with pytest.raises(LedgerStateError):
        await under_test.ledger.settle(SettleRequest(key="mass/item/3", paid_amount=D(5)))
    assert (await under_test.books.balance("acme", "USDT")).available == D(100)


async def test_eighteen_decimals_survive_every_step(under_test: LedgerUnderTest) -> None:
    await funded(under_test, "1.000000000000000001", currency="ETH")
    amount = D("0.123456789012345678")
    entry = await under_test.ledger.reserve(reserve("p-1", str(amount), currency="ETH"))
    assert entry.amount == amount and str(entry.amount) == "0.123456789012345678"
    settled = await under_test.ledger.settle(
        SettleRequest(key="p-1", paid_amount=amount, fee=D("0.000000000000000001"))
    )
    assert settled.fee == D("1E-18")
    balance = await under_test.books.balance("acme", "ETH")
    assert balance.available == D("0.876543210987654322")
    assert balance.settled == D("0.123456789012345679")


async def test_amounts_beyond_the_default_decimal_precision_stay_exact(
    under_test: LedgerUnderTest,
) -> None:
    # 48 significant digits: the default 28-digit context would round these silently.
    big = D("123456789012345678901234567890.123456789012345678")
    await funded(under_test, str(big), currency="ETH")
    await under_test.ledger.reserve(reserve("p-1", "0.000000000000000001", currency="ETH"))
    balance = await under_test.books.balance("acme", "ETH")
    assert balance.available == D("123456789012345678901234567890.123456789012345677")
