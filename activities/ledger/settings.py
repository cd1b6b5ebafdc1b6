"""Pick the ledger adapter from settings (`PAYOUTS_LEDGER` and friends, docs/ledger.md).

The rules for these variables live here once: `starter.service.settings` applies them when it
reads the environment (failing at start-up), and `ledger_from_settings` when it builds a ledger.
"""

from __future__ import annotations

from activities.ledger.http_ledger import HttpLedger
from activities.ledger.no_ledger import NoLedger
from activities.ledger.protocol import Ledger
from activities.ledger.sqlite_ledger import SqliteLedger

LEDGER_KINDS = ("sqlite", "http", "none")
DEFAULT_LEDGER_KIND = "sqlite"
DEFAULT_LEDGER_PATH = ".payouts/ledger.sqlite3"


class LedgerSettingError(ValueError):
    """A ledger setting that cannot be used; `variable` names the environment variable."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable} {reason}")
        self.variable = variable
        self.reason = reason


def ledger_kind(kind: str, *, url: str | None = None, secret: str | None = None) -> str:
    """The ledger `kind` names (any case; empty for the default), once the settings it needs
    are there; `LedgerSettingError` otherwise.

    Empty strings count as unset, since that is what an unset environment variable reads as.
    """
    chosen = kind.strip().lower() or DEFAULT_LEDGER_KIND
    if chosen not in LEDGER_KINDS:
        raise LedgerSettingError(
            "PAYOUTS_LEDGER", f"must be one of {', '.join(LEDGER_KINDS)}; got {kind!r}"
        )
    if chosen == "http":
        if not url or not url.strip():
            raise LedgerSettingError(
                "PAYOUTS_LEDGER_URL", "is required with PAYOUTS_LEDGER=http (the ledger's base URL)"
            )
        if not secret:
            raise LedgerSettingError(
                "PAYOUTS_LEDGER_SECRET", "is required with PAYOUTS_LEDGER=http (the signing secret)"
            )
        if not url.strip().startswith(("http://", "https://")):
            raise LedgerSettingError("PAYOUTS_LEDGER_URL", f"must be an http(s) URL, got {url!r}")
    return chosen


def ledger_from_settings(
    kind: str = DEFAULT_LEDGER_KIND,
    *,
    path: str = DEFAULT_LEDGER_PATH,
    url: str | None = None,
    secret: str | None = None,
) -> Ledger:
    """Build the ledger `kind` names; a bad combination raises `LedgerSettingError` (a
    ValueError) naming the variable."""
    chosen = ledger_kind(kind, url=url, secret=secret)
    if chosen == "sqlite":
        return SqliteLedger(path.strip() or DEFAULT_LEDGER_PATH)
    if chosen == "none":
        return NoLedger()
    assert url and secret  # ledger_kind made sure of both for http
    return HttpLedger(url.strip(), secret)
