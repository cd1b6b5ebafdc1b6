"""Reserve, settle and release a payout's money in the merchant's ledger (docs/ledger.md).

    ledger = ledger_from_settings("sqlite")  # at DEFAULT_LEDGER_PATH unless given a path
    entry = await ledger.reserve(ReserveRequest(key=..., sub_account=..., currency=..., amount=...))

Four adapters share one `Ledger` protocol and one set of semantics: `SqliteLedger` (embedded
default), `PostgresLedger` (books shared by workers on several machines), `HttpLedger` (the
merchant's backend keeps the books) and `NoLedger` (no books).
"""

from __future__ import annotations

from activities.ledger.errors import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerError,
    LedgerNotFoundError,
    LedgerStateError,
    LedgerUnavailableError,
    LedgerUnsupportedError,
    SpendingLimitExceededError,
)
from activities.ledger.http_ledger import HttpLedger
from activities.ledger.models import (
    EntryState,
    EntryTotal,
    Funding,
    FundingResult,
    LedgerBalance,
    LedgerEntry,
    LedgerRecord,
    LedgerRequest,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SpendingLimit,
)
from activities.ledger.no_ledger import NoLedger
from activities.ledger.postgres_ledger import PostgresLedger
from activities.ledger.protocol import Ledger, LedgerInsights
from activities.ledger.settings import DEFAULT_LEDGER_PATH, ledger_from_settings
from activities.ledger.shortfall import (
    LedgerShortfall,
    SpendingLimitHit,
    limit_of,
    refusal_text,
    shortfall_of,
)
from activities.ledger.sqlite_ledger import SqliteLedger

__all__ = [
    "DEFAULT_LEDGER_PATH",
    "EntryState",
    "EntryTotal",
    "Funding",
    "FundingResult",
    "HttpLedger",
    "InsufficientLedgerFundsError",
    "Ledger",
    "LedgerBalance",
    "LedgerConflictError",
    "LedgerEntry",
    "LedgerError",
    "LedgerInsights",
    "LedgerNotFoundError",
    "LedgerRecord",
    "LedgerRequest",
    "LedgerShortfall",
    "LedgerStateError",
    "LedgerUnavailableError",
    "LedgerUnsupportedError",
    "NoLedger",
    "PostgresLedger",
    "ReleaseRequest",
    "ReserveRequest",
    "SettleRequest",
    "SpendingLimit",
    "SpendingLimitExceededError",
    "SpendingLimitHit",
    "SqliteLedger",
    "ledger_from_settings",
    "limit_of",
    "refusal_text",
    "shortfall_of",
]
