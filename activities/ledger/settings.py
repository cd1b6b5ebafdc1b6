"""Pick the ledger adapter from settings (`PAYOUTS_LEDGER` and friends, docs/ledger.md)."""

from __future__ import annotations

from activities.ledger.http_ledger import HttpLedger
from activities.ledger.no_ledger import NoLedger
from activities.ledger.protocol import Ledger
from activities.ledger.sqlite_ledger import SqliteLedger

LEDGER_KINDS = ("sqlite", "http", "none")
DEFAULT_LEDGER_KIND = "sqlite"
DEFAULT_LEDGER_PATH = ".payouts/ledger.sqlite3"


def ledger_from_settings(
    kind: str = DEFAULT_LEDGER_KIND,
    *,
    path: str = DEFAULT_LEDGER_PATH,
    url: str | None = None,
    secret: str | None = None,
) -> Ledger:
    """Build the ledger `kind` names; a bad combination raises ValueError naming the variable.

    Empty strings count as unset, since that is what an unset environment variable reads as.
    """
    chosen = kind.strip().lower() or DEFAULT_LEDGER_KIND
    if chosen == "sqlite":
        return SqliteLedger(path.strip() or DEFAULT_LEDGER_PATH)
    if chosen == "http":
        if not url or not url.strip():
            raise ValueError("PAYOUTS_LEDGER=http needs PAYOUTS_LEDGER_URL (the ledger's base URL)")
        if not secret:
            raise ValueError("PAYOUTS_LEDGER=http needs PAYOUTS_LEDGER_SECRET (the signing secret)")
        if not url.strip().startswith(("http://", "https://")):
            raise ValueError(f"PAYOUTS_LEDGER_URL must be an http(s) URL, got {url!r}")
        return HttpLedger(url.strip(), secret)
    if chosen == "none":
        return NoLedger()
    raise ValueError(f"PAYOUTS_LEDGER must be one of {', '.join(LEDGER_KINDS)}; got {kind!r}")
