"""A screening hook for tests: a small ASGI app on a free loopback port (docs/screening.md).

    async with running_screening_hook() as hook:
        hook.deny.add("TDenied...")            # deny, with `hook.deny_reason`
        hook.review.add("TReview...")          # review, with `hook.review_reason`
        hook.hang.add("THang...")              # a POST holding it never answers (timeouts)
        hook.fail_next = 2                     # the next 2 POSTs answer 500 (`fail_status`)
        hook.tamper = lambda reply: b"nope"    # rewrite the next replies (malformed, missing index)
        ... ScreeningRequest(url=hook.url, secret_env=..., ...) ...
        assert len(hook.requests) == 3

It verifies every POST with `verify_screening_signature` (401 when it does not check out) and
records each one in `requests`, verified or not. Everything not denied, held for review or hung
is allowed. The rules are read at each POST, so a test may change them between calls. Leaving the
block releases the hung POSTs and stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from activities.screening import ScreeningSignatureError, verify_screening_signature
from calypso import wire
from tests.ledger.loopback import serve

SCREEN_PATH = "/screen"

# Rewrites the reply document ({"decisions": [...]}) before it is sent: return another document,
# or bytes to send as they are.
Tamper = Callable[[dict[str, Any]], "dict[str, Any] | bytes"]


@dataclass
class HookRequest:
    """One POST as the hook received it."""

    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any = None  # the parsed body, when it verified
    status: int | None = None  # what the hook answered; None while it hangs

    @property
    def recipients(self) -> list[dict[str, Any]]:
        return list(self.payload["recipients"]) if self.payload else []

    @property
    def addresses(self) -> list[str]:
        return [recipient["address"] for recipient in self.recipients]

    @property
    def indexes(self) -> list[int]:
        return [recipient["index"] for recipient in self.recipients]


@dataclass
class ScreeningHook:
    """The hook's rules and what it received; change the rules at any time."""

    secret: str = field(default_factory=lambda: secrets.token_hex(16))
    url: str = ""  # set once the server runs
    deny: set[str] = field(default_factory=set)
    review: set[str] = field(default_factory=set)
    hang: set[str] = field(default_factory=set)
    fail_next: int = 0  # this many next POSTs answer `fail_status` (after verification)
    fail_status: int = 500
    fail_retry_after: int | None = None  # a Retry-After header on those answers
    deny_reason: str = "on the deny list"
    review_reason: str = "held for a compliance review"
    tamper: Tamper | None = None
    tolerance_seconds: float = 300.0
    requests: list[HookRequest] = field(default_factory=list)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def verified(self) -> list[HookRequest]:
        return [request for request in self.requests if request.verified]

    def decide(self, address: str) -> tuple[str, str | None]:
        if address in self.deny:
            return "deny", self.deny_reason
        if address in self.review:
            return "review", self.review_reason
        return "allow", None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post(SCREEN_PATH)
        async def screen(request: Request) -> Response:
            body = await request.body()
            seen = HookRequest(headers=dict(request.headers), body=body, verified=False)
            self.requests.append(seen)
            response = await self._answer(seen, request)
            seen.status = response.status_code
            return response

        return app

    async def _answer(self, seen: HookRequest, request: Request) -> Response:
        try:
            verify_screening_signature(
                seen.body, request.headers, self.secret, time.time(), self.tolerance_seconds
            )
        except ScreeningSignatureError as exc:
            return _json(401, {"message": str(exc)})
        seen.verified = True
        seen.payload = wire.loads(seen.body)
        if any(address in self.hang for address in seen.addresses):
            await self._released.wait()  # "never" answers: until the hook stops
            return _json(503, {"message": "hook stopped"})
        if self.fail_next > 0:
            self.fail_next -= 1
            response = _json(self.fail_status, {"message": "screening failed, try again"})
            if self.fail_retry_after is not None:
                response.headers["Retry-After"] = str(self.fail_retry_after)
            return response
        decisions = []
        for recipient in seen.recipients:
            decision, reason = self.decide(recipient["address"])
            decisions.append({"index": recipient["index"], "decision": decision, "reason": reason})
        reply: dict[str, Any] | bytes = {"decisions": decisions}
        if self.tamper is not None:
            reply = self.tamper({"decisions": decisions})
        if isinstance(reply, bytes):
            return Response(reply, status_code=200, media_type="application/json")
        return _json(200, reply)

    def release(self) -> None:
        """Let every hung POST finish with a 503; from then on, hung addresses get one at once."""
        self._released.set()


def _json(status: int, payload: Any) -> Response:
    return Response(wire.dumps(payload), status_code=status, media_type="application/json")


@contextlib.asynccontextmanager
async def running_screening_hook(secret: str | None = None) -> AsyncIterator[ScreeningHook]:
    """A `ScreeningHook` served on a free loopback port; `hook.url` is the URL to POST to."""
    hook = ScreeningHook() if secret is None else ScreeningHook(secret=secret)
    async with serve(hook.app()) as base_url:
        hook.url = base_url + SCREEN_PATH
        try:
            yield hook
        finally:
            hook.release()  # before uvicorn's graceful shutdown waits for the hung POSTs
