"""Pick the ledger adapter from settings (`PAYOUTS_LEDGER` and friends, docs/ledger.md).

The rules for these variables live here once: `starter.service.settings` applies them when it
reads the environment (failing at start-up), and `ledger_from_settings` when it builds a ledger.
"""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from activities.ledger.http_ledger import HttpLedger
from activities.ledger.no_ledger import NoLedger
from activities.ledger.postgres_ledger import PostgresLedger
from activities.ledger.protocol import Ledger
from activities.ledger.sqlite_ledger import SqliteLedger

LEDGER_KINDS = ("sqlite", "postgres", "http", "none")
DEFAULT_LEDGER_KIND = "sqlite"
DEFAULT_LEDGER_PATH = ".payouts/ledger.sqlite3"


class LedgerSettingError(ValueError):
    """A ledger setting that cannot be used; `variable` names the environment variable."""

    def __init__(self, variable: str, reason: str) -> None:
        super().__init__(f"{variable} {reason}")
        self.variable = variable
        self.reason = reason


def ledger_kind(
    kind: str, *, url: str | None = None, secret: str | None = None, dsn: str | None = None
) -> str:
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
    if chosen == "postgres":
        checked_dsn(dsn)
    return chosen


def checked_dsn(dsn: str | None) -> str:
    """PAYOUTS_LEDGER_DSN, once it reads as a libpq connection string (a postgresql:// URL or
    key=value pairs); `LedgerSettingError` otherwise. Never echoes it: it may hold a password."""
    if not dsn or not dsn.strip():
        raise LedgerSettingError(
            "PAYOUTS_LEDGER_DSN",
            "is required with PAYOUTS_LEDGER=postgres, e.g. postgresql://payouts@db-host/payouts",
        )
    text = dsn.strip()
    url = "://" in text
    if url and not text.startswith(("postgresql://", "postgres://")):
        raise LedgerSettingError(
            "PAYOUTS_LEDGER_DSN", "must be a postgresql:// URL or key=value connection string"
        )
    try:
        params = conninfo_to_dict(text)
    except Exception as error:  # psycopg.ProgrammingError: not a connection string at all
        reason = " ".join(str(error).split()).replace(text, "<dsn>")
        raise LedgerSettingError("PAYOUTS_LEDGER_DSN", f"is malformed: {reason}") from None
    port = str(params.get("port") or "5432")
    if not all(part.isdigit() and 0 < int(part) < 65536 for part in port.split(",")):
        raise LedgerSettingError("PAYOUTS_LEDGER_DSN", f"is malformed: port {port!r}")
    if not url and not params:
        raise LedgerSettingError("PAYOUTS_LEDGER_DSN", "is malformed: no connection parameters")
    return text


def ledger_from_settings(
    kind: str = DEFAULT_LEDGER_KIND,
    *,
    path: str = DEFAULT_LEDGER_PATH,
    url: str | None = None,
    secret: str | None = None,
    dsn: str | None = None,
) -> Ledger:
    """Build the ledger `kind` names; a bad combination raises `LedgerSettingError` (a
    ValueError) naming the variable."""
    chosen = ledger_kind(kind, url=url, secret=secret, dsn=dsn)
    if chosen == "sqlite":
        return SqliteLedger(path.strip() or DEFAULT_LEDGER_PATH)
    if chosen == "postgres":
        return PostgresLedger(checked_dsn(dsn))
    if chosen == "none":
        return NoLedger()
    assert url and secret  # ledger_kind made sure of both for http
    return HttpLedger(url.strip(), secret)
