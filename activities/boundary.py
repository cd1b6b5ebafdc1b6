"""The activity boundary: our error trees become Temporal failures that say if a retry helps.

Only an `ApplicationError` fails cleanly; a permanent provider, ledger or callback error becomes a
non-retryable one (the workflow decides what it means), a transient one a retryable one (Temporal's
retry policy, the only retry loop, tries again).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio.exceptions import ApplicationError

from activities.callbacks import CallbackError
from activities.ledger import LedgerError
from calypso.errors import CalypsoError


@contextlib.contextmanager
def as_application_errors() -> Iterator[None]:
    """Turn client, ledger and callback errors into ApplicationErrors that say if retry helps."""
    try:
        yield
    except (CalypsoError, LedgerError, CallbackError) as exc:
        retryable = bool(getattr(exc, "retryable", False))
        # A ledger refusal carries its numbers, so the saga can say what to fund and by how much.
        details = exc.failure_details() if isinstance(exc, LedgerError) else ()
        raise ApplicationError(
            str(exc), *details, type=type(exc).__name__, non_retryable=not retryable
        ) from exc
