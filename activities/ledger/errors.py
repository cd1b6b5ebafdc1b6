"""What can go wrong moving money in the merchant's ledger, split by whether a retry can help.

    LedgerError                         a ledger call failed; permanent unless a subclass says so
    ├── LedgerConflictError             the key exists with different content (permanent)
    ├── LedgerStateError                the entry's state forbids the move (permanent)
    ├── LedgerNotFoundError             settle of a key that was never reserved (permanent)
    ├── InsufficientLedgerFundsError    the sub-account cannot cover the reservation (permanent)
    ├── SpendingLimitExceededError      the reservation would pass a spending limit (permanent)
    ├── LedgerUnsupportedError          this ledger cannot do what was asked (permanent)
    └── LedgerUnavailableError          the ledger could not be reached or was busy (retryable)

`LedgerError` itself is raised for answers we cannot act on (an unexpected 4xx, an unreadable
body): the same call would get the same answer, so it is permanent too. The activity layer maps
`retryable` onto Temporal: `False` → non-retryable `ApplicationError`, `True` → let it retry.
Every ledger call is idempotent by its key, which is what makes the retry safe.
"""

from __future__ import annotations

from decimal import Decimal


class LedgerError(Exception):
    """Raised when a ledger call fails; the base of every ledger error."""

    retryable = False

    def failure_details(self) -> tuple[dict[str, object], ...]:
        """What the workflow may read from the failure besides its message (none by default)."""
        return ()


class LedgerConflictError(LedgerError):
    """Raised when a key is reused with a different sub-account, currency or amount."""


class LedgerStateError(LedgerError):
    """Raised when the entry's state forbids the move, e.g. settle after release."""


class LedgerNotFoundError(LedgerError):
    """Raised when a settle names a key that was never reserved."""


class InsufficientLedgerFundsError(LedgerError):
    """Raised when a reservation exceeds the sub-account's available balance.

    `ledger` names the adapter that refused ("sqlite": the `payouts ledger fund` verb can fund
    it; "http": the merchant's backend must). For a batch, `reserved_in_batch` counts the
    requests before the refused one that stayed applied (0 when the batch is atomic, as on
    SQLite, where the whole batch rolled back).
    """

    def __init__(
        self,
        *,
        sub_account: str,
        currency: str,
        needed: Decimal,
        available: Decimal | None,
        ledger: str = "sqlite",
        reserved_in_batch: int = 0,
    ) -> None:
        # `available` is None only when an HTTP ledger refused without saying how much it has.
        has = "an unknown amount of" if available is None else str(available)
        super().__init__(
            f"sub-account {sub_account!r} has {has} {currency} available, needs {needed}"
        )
        self.sub_account = sub_account
        self.currency = currency
        self.needed = needed
        self.available = available
        self.ledger = ledger
        self.reserved_in_batch = reserved_in_batch

    def failure_details(self) -> tuple[dict[str, object], ...]:
        """The numbers, as `LedgerShortfall` reads them in the workflow (amounts as text)."""
        return (
            {
                "sub_account": self.sub_account,
                "currency": self.currency,
                "needed": str(self.needed),
                "available": None if self.available is None else str(self.available),
                "ledger": self.ledger,
                "reserved_in_batch": self.reserved_in_batch,
            },
        )


class SpendingLimitExceededError(LedgerError):
    """Raised when a reservation would take the sub-account's usage of a spending limit's window
    past its maximum.

    `usage` is what the window held already (reserved, or settled as paid amount plus fee) and
    `amount` what the refused reservation needed. A refused batch speaks for itself as a whole,
    as with `InsufficientLedgerFundsError`: `amount` is what its `items` new reservations on that
    sub-account and currency need together, and `usage` what the window holds once the batch
    rolled back.
    """

    def __init__(
        self,
        *,
        sub_account: str,
        currency: str,
        limit_name: str | None,
        window_seconds: int,
        max_amount: Decimal,
        usage: Decimal,
        amount: Decimal,
        items: int = 1,
        ledger: str = "sqlite",
    ) -> None:
        label = limit_name or f"{window_seconds}s"
        needs = "this payout needs" if items == 1 else f"these {items} payouts need"
        super().__init__(
            f"spending limit {label} on {sub_account!r} {currency}: {_plain(usage)} used of"
            f" {_plain(max_amount)}, {needs} {_plain(amount)}"
        )
        self.sub_account = sub_account
        self.currency = currency
        self.limit_name = limit_name
        self.window_seconds = window_seconds
        self.max_amount = max_amount
        self.usage = usage
        self.amount = amount
        self.items = items
        self.ledger = ledger

    def failure_details(self) -> tuple[dict[str, object], ...]:
        """The numbers, as `SpendingLimitHit` reads them in the workflow (amounts as text)."""
        return (
            {
                "sub_account": self.sub_account,
                "currency": self.currency,
                "limit_name": self.limit_name,
                "window_seconds": self.window_seconds,
                "max_amount": str(self.max_amount),
                "usage": str(self.usage),
                "amount": str(self.amount),
                "items": self.items,
                "ledger": self.ledger,
            },
        )


class LedgerUnsupportedError(LedgerError):
    """Raised when the ledger cannot do what was asked: the HTTP ledger and `NoLedger` keep no
    history here, so they can neither enforce spending limits nor say what was paid before."""


class LedgerUnavailableError(LedgerError):
    """Raised on I/O failure: database locked or unreadable, HTTP 5xx, timeout, no connection."""

    retryable = True


def _plain(amount: Decimal) -> str:
    # Never exponent notation in a message people read (1E+4 is 10000).
    return format(amount, "f")
