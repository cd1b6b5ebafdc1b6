"""Recipient screening: ask the merchant's (or a compliance vendor's) hook about each recipient of
a payout before any money moves (docs/screening.md).

    POST <url>
    Payouts-Timestamp: <unix seconds>
    Payouts-Signature: v1=<hex HMAC-SHA256(secret, b"<timestamp>." + body)>
    {"payoutKey": ..., "kind": "mass", "currency": ..., "subAccount": ...,
     "recipients": [{"index": 0, "address": "T...", "amount": 12.5}, ...]}

    200 {"decisions": [{"index": 0, "decision": "allow" | "deny" | "review", "reason": null}, ...]}

Recipients go `chunk_size` per POST, one POST after the other, with a heartbeat after each. A
reply is accepted only when it is a 200 whose decisions cover exactly the indexes sent; anything
else — a timeout, no connection, another status, a body that is not such a document — raises a
*retryable* error and Temporal tries the whole screening again. Nothing here ever defaults to
allow. Only a worker that cannot screen at all (its secret variable missing, a request that
cannot be sent) fails non-retryably.

The secret is read from the worker's environment, under the name the request carries, so it never
enters workflow history. Logs carry the payout key and counts: never an address, an amount, a
hook's reason or the secret.

`verify_screening_signature` is the hook's side, small enough for an implementer to copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any

import httpx
import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.screening_models import (
    SCREEN_RECIPIENTS,
    Decision,
    ScreenedRecipient,
    ScreeningDecision,
    ScreeningRequest,
    ScreeningResult,
)
from calypso import wire

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "MAX_REASON_CHARS",
    "SCREEN_RECIPIENTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ScreenedRecipient",
    "ScreeningActivities",
    "ScreeningDecision",
    "ScreeningError",
    "ScreeningNotConfiguredError",
    "ScreeningReplyError",
    "ScreeningRequest",
    "ScreeningRequestError",
    "ScreeningResult",
    "ScreeningSignatureError",
    "ScreeningUnavailableError",
    "screening_body",
    "screening_signature",
    "signed_headers",
    "verify_screening_signature",
]

log = structlog.get_logger()

TIMESTAMP_HEADER = "Payouts-Timestamp"
SIGNATURE_HEADER = "Payouts-Signature"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300.0
MAX_REASON_CHARS = 500  # a hook's reason lands in workflow history: longer ones are cut
MAX_RETRY_AFTER_SECONDS = 600  # a hook's Retry-After is honoured up to this
_EXAMPLES = 5  # indexes named in an error message about a reply's coverage


# --- signing: both sides -------------------------------------------------------------------------


class ScreeningSignatureError(ValueError):
    """Raised by `verify_screening_signature` for anything that does not check out."""


def screening_signature(body: bytes, secret: str, timestamp: int) -> str:
    """Lowercase hex HMAC-SHA256, keyed with `secret`, of `b"<timestamp>." + body`."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two headers that sign `body` at `timestamp` (unix seconds)."""
    signature = screening_signature(body, secret, timestamp)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={signature}",
    }


def verify_screening_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    now: float,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
) -> None:
    """Check a screening request's signature against the raw `body`, as the hook received it.

    `headers` is looked up case-insensitively; `now` is the hook's clock (unix seconds): a
    timestamp more than `tolerance_seconds` away from it, either way, is refused (replays).
    `Payouts-Signature` may hold several comma-separated `v1=<hex>` entries (a secret being
    rotated); one match is enough. The comparison is constant-time. Verify the bytes before any
    JSON parsing: re-serializing changes them. Raises `ScreeningSignatureError`, and only that.
    """
    if not secret:
        raise ScreeningSignatureError("no secret to verify with")
    lowered = {name.lower(): value for name, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower(), "").strip()
    if not stamp:
        raise ScreeningSignatureError(f"missing {TIMESTAMP_HEADER} header")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 15:
        raise ScreeningSignatureError(f"{TIMESTAMP_HEADER} is not unix seconds")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_seconds:
        raise ScreeningSignatureError(
            f"{TIMESTAMP_HEADER} is more than {tolerance_seconds:g} s away from now"
        )
    candidates = _signatures(lowered.get(SIGNATURE_HEADER.lower(), ""))
    if not candidates:
        raise ScreeningSignatureError(f"missing {SIGNATURE_HEADER} {SIGNATURE_VERSION}= entry")
    expected = screening_signature(body, secret, timestamp).encode()
    matched = False
    for candidate in candidates:  # every candidate is compared: no early exit to time
        matched |= hmac.compare_digest(expected, candidate.encode())
    if not matched:
        raise ScreeningSignatureError(f"{SIGNATURE_HEADER} does not match the body")


def _signatures(header: str) -> list[str]:
    prefix = f"{SIGNATURE_VERSION}="
    entries = (entry.strip() for entry in header.split(","))
    return [entry[len(prefix) :].lower() for entry in entries if entry.startswith(prefix)]


def screening_body(request: ScreeningRequest, chunk: Sequence[ScreenedRecipient]) -> bytes:
    """The exact bytes POSTed for `chunk`: compact JSON, amounts as exact numbers."""
    return wire.dumps(
        {
            "payoutKey": request.payout_key,
            "kind": request.kind,
            "currency": request.currency,
            "subAccount": request.sub_account,
            "recipients": [
                {"index": item.index, "address": item.address, "amount": item.amount}
                for item in chunk
            ],
        }
    )


# --- errors --------------------------------------------------------------------------------------


class ScreeningError(Exception):
    """Raised when recipients could not be screened; the base of the screening errors."""

    retryable = True


class ScreeningNotConfiguredError(ScreeningError):
    """Raised when the worker lacks the secret the request names: no retry helps."""

    retryable = False


class ScreeningRequestError(ScreeningError):
    """Raised for a request that cannot be sent (duplicate indexes, a bad URL, chunk size or
    timeout): a bug in the caller, no retry helps."""

    retryable = False


class ScreeningUnavailableError(ScreeningError):
    """Raised on a timeout, a failed connection or a status other than 200."""

    def __init__(
        self, message: str, *, http_status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status  # None: no answer at all (timeout, no connection)
        self.retry_after = retry_after


class ScreeningReplyError(ScreeningError):
    """Raised on a 200 whose body is not a decision for exactly each recipient sent."""


@contextlib.contextmanager
def _as_application_errors() -> Iterator[None]:
    """Screening errors become ApplicationErrors that say if a retry helps (as `boundary.py`)."""
    try:
        yield
    except ScreeningError as exc:
        delay = getattr(exc, "retry_after", None)
        raise ApplicationError(
            str(exc),
            type=type(exc).__name__,
            non_retryable=not exc.retryable,
            next_retry_delay=timedelta(seconds=delay) if delay is not None else None,
        ) from exc


# --- the hook's reply ----------------------------------------------------------------------------


class _ReplyDecision(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    index: int
    decision: Decision
    reason: Annotated[str | None, Field(default=None)]


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    decisions: list[_ReplyDecision]


def _parse_reply(content: bytes, sent: Sequence[int], where: str) -> list[ScreeningDecision]:
    try:
        reply = _Reply.model_validate(wire.loads(content))
    except (ValueError, RecursionError) as exc:  # ValidationError is a ValueError
        why = _why(exc)
        raise ScreeningReplyError(f"{where}: reply is not a decisions document: {why}") from exc
    indexes = [decision.index for decision in reply.decisions]
    wanted = set(sent)
    repeated = {index for index, times in Counter(indexes).items() if times > 1}
    problems = [
        _named("missing", wanted.difference(indexes)),
        _named("not sent", set(indexes).difference(wanted)),
        _named("repeated", repeated),
    ]
    found = "; ".join(problem for problem in problems if problem)
    if found:
        raise ScreeningReplyError(f"{where}: decisions do not cover the indexes sent: {found}")
    return [
        ScreeningDecision(
            index=decision.index,
            decision=decision.decision,
            reason=None if decision.reason is None else decision.reason[:MAX_REASON_CHARS],
        )
        for decision in reply.decisions
    ]


def _why(exc: Exception) -> str:
    """A parse error without the values that caused it (they may be addresses)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False, include_url=False)
        shown = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in errors[:_EXAMPLES]
        )
        more = f" (and {len(errors) - _EXAMPLES} more)" if len(errors) > _EXAMPLES else ""
        return shown + more
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "not JSON"


def _named(what: str, indexes: Iterable[int]) -> str:
    ordered = sorted(indexes)
    if not ordered:
        return ""
    shown = ", ".join(str(index) for index in ordered[:_EXAMPLES])
    more = ", ..." if len(ordered) > _EXAMPLES else ""
    return f"{len(ordered)} {what} (index {shown}{more})"


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "").strip()
    if not (value.isascii() and value.isdigit()):
        return None  # absent, or an HTTP date: the retry policy's own backoff
    return float(min(int(value), MAX_RETRY_AFTER_SECONDS))


# --- the activity --------------------------------------------------------------------------------


class ScreeningActivities:
    """The screening activity, with one pooled HTTP client for every hook; `close` closes it.

    `environ` is where secrets are read (the process environment by default), `clock` gives the
    signature's unix time."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._clock = clock
        self._http = httpx.AsyncClient(follow_redirects=False)

    @activity.defn(name=SCREEN_RECIPIENTS)
    async def screen_recipients(self, request: ScreeningRequest) -> ScreeningResult:
        """One decision per recipient, in the request's order; raises rather than allow."""
        with _as_application_errors():
            return await self._screen(request)

    async def _screen(self, request: ScreeningRequest) -> ScreeningResult:
        """The activity's work, raising `ScreeningError`s (the activity maps them). A retry
        screens every recipient again: nothing of an earlier attempt is kept."""
        secret = self._secret(request.secret_env)
        _check(request)
        size = request.chunk_size
        chunks = [
            request.recipients[start : start + size]
            for start in range(0, len(request.recipients), size)
        ]
        bound = log.bind(payout_key=request.payout_key, kind=request.kind, chunks=len(chunks))
        bound.info("screening.started", recipients=len(request.recipients))
        decided: dict[int, ScreeningDecision] = {}
        done = 0
        for number, chunk in enumerate(chunks, start=1):
            where = f"screening {request.payout_key!r} chunk {number}/{len(chunks)}"
            try:
                decisions = await self._post(request, secret, chunk, where)
            except ScreeningError as error:
                bound.warning(
                    "screening.failed",
                    chunk=number,
                    error=type(error).__name__,
                    http_status=getattr(error, "http_status", None),
                )
                raise
            decided.update((decision.index, decision) for decision in decisions)
            done += len(chunk)
            activity.heartbeat({"chunks": number, "recipients": done})
        result = ScreeningResult(decisions=[decided[item.index] for item in request.recipients])
        bound.info("screening.done", **_counts(result.decisions))
        return result

    async def close(self) -> None:
        await self._http.aclose()

    def all(self) -> list[Callable[..., Any]]:
        return [self.screen_recipients]

    def _secret(self, name: str) -> str:
        secret = self._environ.get(name, "") if name else ""
        if not secret.strip():
            raise ScreeningNotConfiguredError(
                f"screening secret: environment variable {name or '(no name)'!r} "
                "is not set or empty on this worker"
            )
        return secret

    async def _post(
        self,
        request: ScreeningRequest,
        secret: str,
        chunk: Sequence[ScreenedRecipient],
        where: str,
    ) -> list[ScreeningDecision]:
        body = screening_body(request, chunk)
        headers = {"Content-Type": "application/json"}
        headers.update(signed_headers(body, secret, int(self._clock())))
        limit = request.timeout_seconds
        try:
            # httpx's timeout bounds each phase; the outer one bounds the whole exchange, so a
            # hook that trickles its reply cannot hold the activity past `timeout_seconds`.
            async with asyncio.timeout(limit):
                response = await self._http.post(
                    request.url, content=body, headers=headers, timeout=limit
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise ScreeningUnavailableError(f"{where}: no answer within {limit:g} s") from exc
        except httpx.TransportError as exc:
            raise ScreeningUnavailableError(f"{where}: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise ScreeningUnavailableError(
                f"{where}: the hook answered HTTP {response.status_code}",
                http_status=response.status_code,
                retry_after=_retry_after(response),
            )
        return _parse_reply(response.content, [item.index for item in chunk], where)


def _check(request: ScreeningRequest) -> None:
    if request.chunk_size < 1:
        raise ScreeningRequestError(f"chunk_size must be at least 1, not {request.chunk_size}")
    if not request.timeout_seconds > 0:
        raise ScreeningRequestError(f"timeout_seconds must be > 0, not {request.timeout_seconds}")
    try:
        url = httpx.URL(request.url)
    except httpx.InvalidURL as exc:
        raise ScreeningRequestError("the screening url is not a URL") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ScreeningRequestError("the screening url must be http(s)://<host>...")
    seen: set[int] = set()
    repeated: set[int] = set()
    for item in request.recipients:
        (repeated if item.index in seen else seen).add(item.index)
    if repeated:
        raise ScreeningRequestError(
            f"recipient indexes must be unique: {_named('repeated', repeated)}"
        )


def _counts(decisions: Iterable[ScreeningDecision]) -> dict[str, int]:
    counts = {"allow": 0, "deny": 0, "review": 0}
    for decision in decisions:
        counts[decision.decision] += 1
    return counts
