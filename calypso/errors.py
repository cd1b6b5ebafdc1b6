"""What can go wrong talking to Calypso, as one tree split by whether a retry can help.

    CalypsoError
    ├── PermanentError                  the same request fails the same way again: never retry
    │   ├── BadRequestError             001: malformed body, missing or invalid field
    │   ├── AuthenticationError         002 / 003: credentials are wrong
    │   │   ├── InvalidApiKeyError      002: unknown API key or account
    │   │   └── InvalidSignatureError   003: the Sign header does not match the body
    │   ├── NotFoundError               004: no such payout, withdrawal or subscription
    │   ├── InvalidStateError           012: the payout's state forbids it (cancel after start)
    │   ├── CurrencyError               014 / 015: currency unknown or not the wallet's chain
    │   ├── DuplicateKeyError           016: the idempotencyKey exists already (not replayed)
    │   └── UnexpectedResponseError     any other 4xx, or a 200 we cannot read
    └── TransientError                  a later attempt may succeed: retry
        ├── ServerError                 000 / HTTP 5xx / 429
        ├── TimestampError              011: our clock and theirs disagree by > 3 minutes
        ├── ConnectionFailedError       the request never reached the provider
        └── OutcomeUnknownError         sent, but no answer: it may or may not have happened

`TimestampError` is transient on purpose: every attempt is signed with a fresh timestamp, so a
request that queued too long succeeds on retry, and a skewed clock is an operator's fix (NTP) that
must not fail money in flight. `OutcomeUnknownError` after a create means: look the payout up by
its idempotencyKey before creating again.
"""

from __future__ import annotations

from calypso import wire


class CalypsoError(Exception):
    """Base of every error from the Calypso client; carries the provider's code and trace id."""

    retryable = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        trace_id: str | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.trace_id = trace_id
        self.http_status = http_status

    def __str__(self) -> str:
        parts = [f"[{self.code}]" if self.code else "", self.message]
        if self.trace_id:
            parts.append(f"(traceId {self.trace_id})")
        return " ".join(part for part in parts if part)


class PermanentError(CalypsoError):
    """Raised when the provider refused the request for a reason a retry cannot change."""


class BadRequestError(PermanentError):
    """Raised on 001: the body is malformed or a field is missing or invalid."""


class AuthenticationError(PermanentError):
    """Raised when the provider rejects our credentials (002 or 003)."""


class InvalidApiKeyError(AuthenticationError):
    """Raised on 002: the API key or account is unknown."""


class InvalidSignatureError(AuthenticationError):
    """Raised on 003: the Sign header does not match the body (wrong secret)."""


class NotFoundError(PermanentError):
    """Raised on 004: the requested payout, withdrawal or subscription does not exist."""


class InvalidStateError(PermanentError):
    """Raised on 012: the payout's state forbids the operation, e.g. cancel once it started."""


class CurrencyError(PermanentError):
    """Raised on 014 / 015: the currency is unknown or does not match the wallet's chain."""


class DuplicateKeyError(PermanentError):
    """Raised on 016: a payout with this idempotencyKey exists already; fetch it, do not retry."""


class UnexpectedResponseError(PermanentError):
    """Raised on a 4xx with an unknown code, or a success body that does not parse."""


class TransientError(CalypsoError):
    """Raised when a later attempt of the same request may succeed."""

    retryable = True


class ServerError(TransientError):
    """Raised on 000, any HTTP 5xx, or 429 (rate limited).

    `retry_after`: the seconds the provider's `Retry-After` header asked us to wait (None when
    it sent none); the activity boundary makes Temporal's next retry wait that long.
    """

    retry_after: float | None = None


class TimestampError(TransientError):
    """Raised on 011: the request's timestamp was more than 3 minutes from the provider's clock."""


class ConnectionFailedError(TransientError):
    """Raised when the request could not be sent (connect error or connect timeout)."""


class OutcomeUnknownError(TransientError):
    """Raised when the request was sent but no answer came: it may have taken effect."""


ERROR_CLASSES: dict[str, type[CalypsoError]] = {
    "000": ServerError,
    "001": BadRequestError,
    "002": InvalidApiKeyError,
    "003": InvalidSignatureError,
    "004": NotFoundError,
    "011": TimestampError,
    "012": InvalidStateError,
    "014": CurrencyError,
    "015": CurrencyError,
    "016": DuplicateKeyError,
}


def error_from_response(http_status: int, body: bytes) -> CalypsoError:
    """Map a non-200 provider response to the error class that says what to do about it."""
    code = message = trace_id = None
    try:
        parsed = wire.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        code = _text(parsed.get("errorCode"))
        message = _text(parsed.get("message"))
        trace_id = _text(parsed.get("traceId"))
    if message is None:
        message = body[:200].decode(errors="replace") or f"HTTP {http_status}"
    if http_status >= 500 or http_status == 429:
        cls: type[CalypsoError] = ServerError
    else:
        cls = ERROR_CLASSES.get(code or "", UnexpectedResponseError)
    return cls(message, code=code, trace_id=trace_id, http_status=http_status)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
