"""`payouts ledger limits`: the policy's limits beside what the ledger has counted toward
them, on a real SQLite file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from activities.ledger import ReserveRequest, SettleRequest, SpendingLimit, SqliteLedger
from tests.ledger import ledger_cli_support
from tests.ledger.ledger_cli_support import Payouts, with_books

books_path = ledger_cli_support.books_path
payouts = ledger_cli_support.payouts
D = Decimal

POLICY = """\
version = "limits-1"
[default.limits]
per_payout = { USDT_TRX = "500" }
[[default.limits.window]]
currency = "USDT_TRX"
hours = 24
max = "1000"
[accounts.payroll.limits]
over_limit = "approval"
[[accounts.payroll.limits.window]]
currency = "USDT_TRX"
hours = 720
max = "50000"
"""


def test_limits_show_usage_and_headroom(payouts: Payouts, books_path: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    assert payouts("ledger", "fund", "default", "USDT_TRX", "5000", "--reference", "w").code == 0

    async def spend(books: SqliteLedger) -> None:
        limit = [SpendingLimit(window_seconds=86400, max_amount=D(1000))]
        for key, amount in (("a", "300"), ("b", "150")):
            await books.reserve(
                ReserveRequest(
                    key=key,
                    sub_account="default",
                    currency="USDT_TRX",
                    amount=D(amount),
                    limits=limit,
                )
            )
        await books.settle(SettleRequest(key="a", paid_amount=D(300), fee=D("1.5")))

    with_books(books_path, spend)
    shown = payouts("ledger", "limits", "--json", PAYOUTS_POLICY=str(policy))
    assert shown.code == 0, shown.err
    found = shown.json()
    assert found["policy_version"] == "limits-1"
    rows = {(r["sub_account"], r["limit"]): r for r in found["limits"]}
    window = rows[("default", "1d")]
    assert D(window["used"]) == D("451.5") and D(window["headroom"]) == D("548.5")
    assert rows[("default", "per payout")]["max"] == D(500)
    assert rows[("payroll", "30d")]["over_limit"] == "approval"
    assert D(rows[("payroll", "30d")]["used"]) == 0

    text = payouts("ledger", "limits", "--account", "default", PAYOUTS_POLICY=str(policy))
    assert text.code == 0, text.err
    assert "used 451.5, headroom 548.5" in text.out and "payroll" not in text.out


def test_limits_without_a_policy_say_so(payouts: Payouts) -> None:
    ran = payouts("ledger", "limits")
    assert ran.code != 0
    assert "PAYOUTS_POLICY is not set" in ran.err
