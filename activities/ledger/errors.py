"""What can go wrong moving money in the merchant's ledger, split by whether a retry can help.

    LedgerError                         a ledger call failed; permanent unless a subclass says so
    ├── LedgerConflictError             the key exists with different content (permanent)
    ├── LedgerStateError                the entry's state forbids the move (permanent)
    ├── LedgerNotFoundError             settle of a key that was never reserved (permanent)
    ├── InsufficientLedgerFundsError    the sub-account cannot cover the reservation (permanent)
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


class LedgerUnavailableError(LedgerError):
    """Raised on I/O failure: database locked or unreadable, HTTP 5xx, timeout, no connection."""

    retryable = True
