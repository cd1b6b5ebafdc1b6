"""The activity boundary: our error trees become Temporal failures that say if a retry helps.

Only an `ApplicationError` fails cleanly; a permanent provider, ledger or callback error becomes a
non-retryable one (the workflow decides what it means), a transient one a retryable one (Temporal's
retry policy, the only retry loop, tries again) — after the provider's `Retry-After` when it sent
one (a 429 while over its rate limit).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from activities.callbacks import CallbackError
from activities.ledger import LedgerError
from calypso.errors import CalypsoError, ServerError


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
            str(exc),
            *details,
            type=type(exc).__name__,
            non_retryable=not retryable,
            next_retry_delay=_asked_delay(exc),
        ) from exc


def _asked_delay(exc: Exception) -> timedelta | None:
    """The provider's Retry-After (429, or a 5xx that sends one): Temporal's next attempt waits
    exactly that long instead of its backoff; None leaves the retry policy's own interval."""
    if isinstance(exc, ServerError) and exc.retry_after is not None:
        return timedelta(seconds=exc.retry_after)
    return None
