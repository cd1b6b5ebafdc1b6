"""The ledger's rules as decisions (docs/ledger.md: the semantics every adapter honours): given
what an entry, a balance or a funding is now, what the request may do. Pure — no I/O — so that
the SQLite and PostgreSQL adapters (`sqlite_rules`, `postgres_rules`) decide the same way and
only read, lock and write their own rows around these calls.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerNotFoundError,
    LedgerStateError,
    SpendingLimitExceededError,
)
from activities.ledger.models import (
    EntryState,
    Funding,
    LedgerBalance,
    LedgerEntry,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
)

# Balance arithmetic: a result that would need rounding raises instead of drifting by a wei.
EXACT = decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


def reserved_already(existing: LedgerEntry, request: ReserveRequest) -> LedgerEntry:
    """A reserve of a key that has an entry: the same reservation again, or an error."""
    if existing.state is EntryState.RELEASED:
        # Also what stops a late, zombie reserve after compensation left a tombstone.
        raise LedgerStateError(f"{request.key!r} was released; reserve under a new key")
    if not existing.same_reservation_as(request):
        raise LedgerConflictError(
            f"{request.key!r} is already reserved as {existing.amount} {existing.currency} "
            f"on {existing.sub_account!r}"
        )
    return existing


def new_reservation(
    balance: LedgerBalance, request: ReserveRequest, now: datetime, *, ledger: str
) -> LedgerEntry:
    """The entry a first reserve writes, when `balance` covers it."""
    if balance.available < request.amount:
        raise InsufficientLedgerFundsError(
            sub_account=request.sub_account,
            currency=request.currency,
            needed=request.amount,
            available=balance.available,
            ledger=ledger,
        )
    return LedgerEntry(
        key=request.key,
        sub_account=request.sub_account,
        currency=request.currency,
        amount=request.amount,
        state=EntryState.RESERVED,
        updated_at=now,
    )


def window_start(now: datetime, window_seconds: int) -> datetime:
    """A spending window counts the entries reserved after this instant (strictly)."""
    return now - timedelta(seconds=window_seconds)


def check_window(window_seconds: int) -> int:
    """A window length as a query takes it: a whole number of seconds, greater than 0."""
    if isinstance(window_seconds, bool) or not isinstance(window_seconds, int):
        raise TypeError(f"window_seconds must be an int, got {window_seconds!r}")
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be greater than 0, got {window_seconds}")
    return window_seconds


def counted_in_window(
    state: EntryState, amount: Decimal, paid_amount: Decimal | None, fee: Decimal | None
) -> Decimal:
    """What one entry reserved inside a spending window counts toward it: a RESERVED entry its
    amount, a SETTLED one what actually left (paid amount plus fee), a RELEASED one nothing.
    (PostgreSQL sums the same in SQL: `postgres_tables.window_usage`.)"""
    if state is EntryState.RELEASED:
        return Decimal(0)
    if state is EntryState.SETTLED:
        with decimal.localcontext(EXACT):
            return (amount if paid_amount is None else paid_amount) + (fee or Decimal(0))
    return amount


def within_limits(request: ReserveRequest, usages: Sequence[Decimal], *, ledger: str) -> None:
    """Refuse `request` when it would take any of its limits past the maximum; `usages` are
    what each limit's window holds already, in the order of `request.limits`."""
    for limit, usage in zip(request.limits, usages, strict=True):
        with decimal.localcontext(EXACT):
            over = usage + request.amount > limit.max_amount
        if over:
            raise SpendingLimitExceededError(
                sub_account=request.sub_account,
                currency=request.currency,
                limit_name=limit.name,
                window_seconds=limit.window_seconds,
                max_amount=limit.max_amount,
                usage=usage,
                amount=request.amount,
                ledger=ledger,
            )


class WindowUsage:
    """What one transaction has learnt of its spending windows' usage, kept current as it
    reserves, so a batch of many reservations on one sub-account reads each window once.

    Each reserve in the batch sees the ones before it: a new reservation counts in every window
    at once (it was reserved now). A settle or release in the batch changes what the windows
    hold in ways only a fresh read knows, so it forgets that sub-account and currency.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[str, str, int], Decimal] = {}

    def get(self, sub_account: str, currency: str, window_seconds: int) -> Decimal | None:
        return self._known.get((sub_account, currency, window_seconds))

    def remember(
        self, sub_account: str, currency: str, window_seconds: int, usage: Decimal
    ) -> None:
        self._known[sub_account, currency, window_seconds] = usage

    def reserved(self, sub_account: str, currency: str, amount: Decimal) -> None:
        with decimal.localcontext(EXACT):
            for key, usage in self._known.items():
                if key[:2] == (sub_account, currency):
                    self._known[key] = usage + amount

    def moved(self, sub_account: str | None, currency: str | None) -> None:
        for key in [key for key in self._known if key[:2] == (sub_account, currency)]:
            del self._known[key]


def batch_reservations(
    requests: Sequence[LedgerRequest],
    sub_account: str,
    currency: str,
    is_new: Callable[[str], bool],
) -> tuple[int, Decimal]:
    """How many of a batch's reservations on `sub_account` and `currency` are new (`is_new`
    by key), and what they need together: what a refused batch's error speaks for."""
    count, total = 0, Decimal(0)
    with decimal.localcontext(EXACT):
        for request in requests:
            if (
                isinstance(request, ReserveRequest)
                and (request.sub_account, request.currency) == (sub_account, currency)
                and is_new(request.key)
            ):
                count, total = count + 1, total + request.amount
    return count, total


def settled_already(entry: LedgerEntry | None, request: SettleRequest) -> LedgerEntry | None:
    """The entry when it is settled already (the first settlement wins); None when `request`
    may settle it; an error when it may not."""
    if entry is None:
        raise LedgerNotFoundError(f"{request.key!r} was never reserved")
    if entry.state is EntryState.SETTLED:
        return entry
    if entry.state is EntryState.RELEASED:
        raise LedgerStateError(f"{request.key!r} was released; it cannot be settled")
    if request.paid_amount > entry.amount:
        raise LedgerConflictError(
            f"{request.key!r}: paid {request.paid_amount} but only {entry.amount} was reserved"
        )
    return None


def settlement(
    entry: LedgerEntry, request: SettleRequest, now: datetime
) -> tuple[LedgerEntry, Decimal, Decimal]:
    """The settled entry, what goes back to available, and what has left (paid + fee).

    The reservation is consumed whole; the fee on top comes out of available, and whatever the
    payout did not use (a fee taken out of the amount, a smaller payout) goes back. Available may
    dip below zero: the money has already left at the provider, so the books must record it, and
    the next reserve is refused until the sub-account is funded."""
    with decimal.localcontext(EXACT):
        spent = request.paid_amount + request.fee
        back = entry.amount - spent
    settled = entry.model_copy(
        update={
            "state": EntryState.SETTLED,
            "paid_amount": request.paid_amount,
            "fee": request.fee,
            "updated_at": now,
        }
    )
    return settled, back, spent


def tombstone(request: ReleaseRequest, now: datetime) -> LedgerEntry:
    """A release before (or instead of) the reserve closes the key: a late reserve then finds
    it released."""
    return LedgerEntry(
        key=request.key,
        sub_account=None,
        currency=None,
        amount=Decimal(0),
        state=EntryState.RELEASED,
        reason=request.reason,
        updated_at=now,
    )


def released_already(entry: LedgerEntry, request: ReleaseRequest) -> LedgerEntry | None:
    """The entry when it is released already; None when `request` may release it; an error
    when the money has left."""
    if entry.state is EntryState.RELEASED:
        return entry
    if entry.state is EntryState.SETTLED:
        raise LedgerStateError(f"{request.key!r} was settled; the money has left")
    return None


def released(entry: LedgerEntry, request: ReleaseRequest, now: datetime) -> LedgerEntry:
    return entry.model_copy(
        update={"state": EntryState.RELEASED, "reason": request.reason, "updated_at": now}
    )


def same_funding(earlier: Funding, funding: Funding) -> None:
    """A funding under a used reference must be the same funding; nothing moves twice."""
    if (earlier.sub_account, earlier.currency, earlier.amount) != (
        funding.sub_account,
        funding.currency,
        funding.amount,
    ):
        raise LedgerConflictError(
            f"reference {funding.reference!r} already funded {earlier.amount} {earlier.currency}"
            f" to {earlier.sub_account!r} at {earlier.funded_at.isoformat(timespec='seconds')};"
            " use a new reference for another funding"
        )
