"""Stand-ins for the merchant's backend: the ledger contract and the callback receiver.

`ledger_backend` is a reference implementation of the HTTP ledger contract (docs/ledger.md) with a
SqliteLedger as its books, so the same semantic tests run against both adapters. `scripted_backend`
answers whatever a test tells it to, for the error mapping.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Response

from activities.callbacks import CallbackEvent, InvalidCallbackError, verify_callback
from activities.ledger import (
    InsufficientLedgerFundsError,
    LedgerConflictError,
    LedgerEntry,
    LedgerNotFoundError,
    LedgerStateError,
    PostgresLedger,
    ReleaseRequest,
    ReserveRequest,
    SettleRequest,
    SqliteLedger,
)
from calypso import wire
from calypso.signing import sign


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


def json_response(status: int, payload: dict[str, Any]) -> Response:
    return Response(wire.dumps(payload), status_code=status, media_type="application/json")


def ledger_backend(
    books: SqliteLedger | PostgresLedger, secret: str, received: list[Received]
) -> FastAPI:
    app = FastAPI()

    @app.post("/{operation}")
    async def operate(operation: str, request: Request) -> Response:
        body = await request.body()
        received.append(Received(operation, dict(request.headers), body))
        if not hmac.compare_digest(sign(body, secret), request.headers.get("sign", "")):
            return json_response(401, {"code": "bad_signature", "message": "Sign mismatch"})
        payload = wire.loads(body)
        if request.headers.get("idempotency-key") != payload.get("key"):
            return json_response(400, {"code": "bad_request", "message": "key mismatch"})
        try:
            entry = await _apply(books, operation, payload)
        except InsufficientLedgerFundsError as exc:
            return json_response(
                402, {"code": "insufficient_funds", "message": str(exc), "available": exc.available}
            )
        except LedgerConflictError as exc:
            return json_response(409, {"code": "conflict", "message": str(exc)})
        except LedgerStateError as exc:
            return json_response(409, {"code": "invalid_state", "message": str(exc)})
        except LedgerNotFoundError as exc:
            return json_response(404, {"code": "not_found", "message": str(exc)})
        return Response(wire.dumps(entry.to_wire()), media_type="application/json")

    return app


async def _apply(books: SqliteLedger | PostgresLedger, operation: str, payload: Any) -> LedgerEntry:
    if operation == "reserve":
        return await books.reserve(ReserveRequest.model_validate(payload))
    if operation == "settle":
        return await books.settle(SettleRequest.model_validate(payload))
    return await books.release(ReleaseRequest.model_validate(payload))


@dataclass
class Script:
    """What `scripted_backend` answers next; `hang` holds every request until it is set."""

    status: int = 200
    body: bytes = b""
    hang: asyncio.Event | None = None


def scripted_backend(script: Script) -> FastAPI:
    app = FastAPI()

    @app.post("/{path:path}")
    async def answer(path: str) -> Response:
        if script.hang is not None:
            await script.hang.wait()
        return Response(script.body, status_code=script.status, media_type="application/json")

    return app


@dataclass
class CallbackReceiver:
    """A merchant's callback endpoint: verifies, dedupes by event id, answers 409 on repeats."""

    secret: str
    events: dict[str, CallbackEvent] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/callbacks")
        async def receive(request: Request) -> Response:
            body = await request.body()
            self.received.append(Received("callbacks", dict(request.headers), body))
            try:
                event = verify_callback(body, request.headers, self.secret)
            except InvalidCallbackError as exc:
                return json_response(401, {"message": str(exc)})
            if event.event_id in self.events:
                return json_response(409, {"message": "already have it"})
            self.events[event.event_id] = event
            return Response(status_code=204)

        return app
