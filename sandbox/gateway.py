"""Wraps every provider API handler: faults, authentication, error bodies, the request log.

Handlers are plain synchronous functions of an ApiCall, so each one runs to completion
without yielding and the in-memory state never sees a half-applied request."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from sandbox.auth import ApiCall, authenticate
from sandbox.clock import iso_utc
from sandbox.errors import ApiError, ErrorCode
from sandbox.jsonwire import MalformedJson, json_response, loads_exact
from sandbox.runtime import SandboxRuntime

log = structlog.get_logger("sandbox.api")

Handler = Callable[[ApiCall], Any]


def add_api_route(
    app: FastAPI,
    runtime: SandboxRuntime,
    path: str,
    handler: Handler,
    *,
    method: str = "POST",
    account_required: bool = True,
    state_changing: bool = False,
) -> None:
    async def endpoint(request: Request) -> Response:
        return await _serve(request, runtime, handler, account_required, state_changing)

    app.add_api_route(path, endpoint, methods=[method], name=f"{method} {path}")


async def _serve(
    request: Request,
    runtime: SandboxRuntime,
    handler: Handler,
    account_required: bool,
    state_changing: bool,
) -> Response:
    path = request.url.path
    body = await request.body()
    faults = runtime.state.faults
    entry = _log_entry(request.method, path, body)
    wait = runtime.state.rate.admit(time.monotonic())
    if wait is not None:
        runtime.state.request_log.append(entry)
        return _rate_limited(runtime.state.rate.limit, wait, entry)
    latency = faults.latency_seconds(path)
    if latency:
        await asyncio.sleep(latency)
    try:
        injected = faults.take_failure(path)
        if injected:
            entry["fault"] = injected
            raise ApiError(ErrorCode.INTERNAL, f"internal server error (injected: {injected})")
        call = authenticate(
            body,
            request.headers,
            runtime.settings,
            now_ms=int(time.time() * 1000),
            account_required=account_required,
        )
        result = handler(call)
    except ApiError as exc:
        response = _error_response(exc, entry)
    except Exception:
        log.exception("sandbox.api.handler_failed", path=path)
        response = _error_response(ApiError(ErrorCode.INTERNAL, "internal server error"), entry)
    else:
        response = json_response(result)
        entry["status"] = 200
        if state_changing and faults.take_drop(path):
            entry["fault"] = "commitThenDrop"
            runtime.state.request_log.append(entry)
            log.info("sandbox.api.response_dropped", path=path)
            await _until_client_leaves(request, runtime.closing)
            return response  # nobody is listening any more; the server discards it
    runtime.state.request_log.append(entry)
    return response


def _log_entry(method: str, path: str, body: bytes) -> dict[str, Any]:
    # Only the body is kept: the Sign header (and, of course, the secret) never is.
    account: Any = None
    key: Any = None
    try:
        envelope = loads_exact(body)
    except MalformedJson:
        envelope = None
    if isinstance(envelope, dict):
        account = envelope.get("account")
        payload = envelope.get("payload")
        key = payload.get("idempotencyKey") if isinstance(payload, dict) else None
    return {
        "at": iso_utc(datetime.now(UTC)),
        "method": method,
        "path": path,
        "account": account if isinstance(account, str) else None,
        "idempotencyKey": key if isinstance(key, str) else None,
        "status": None,
        "errorCode": None,
        "fault": None,
        "body": body.decode("utf-8", errors="replace"),
    }


def _error_response(error: ApiError, entry: dict[str, Any]) -> Response:
    entry["status"] = error.http_status
    entry["errorCode"] = error.code.value
    trace_id = uuid.uuid4().hex
    log.info(
        "sandbox.api.rejected",
        path=entry["path"],
        error_code=error.code.value,
        reason=error.message,
        trace_id=trace_id,
    )
    body = {"traceId": trace_id, "errorCode": error.code.value, "message": error.message}
    return json_response(body, status_code=error.http_status)


def _rate_limited(limit: int | None, wait: int, entry: dict[str, Any]) -> Response:
    """429 in the provider's error shape; the code is the sandbox's choice (docs/sandbox.md)."""
    entry["status"] = 429
    entry["errorCode"] = ErrorCode.INTERNAL.value
    entry["fault"] = "rateLimit"
    body = {
        "traceId": uuid.uuid4().hex,
        "errorCode": ErrorCode.INTERNAL.value,
        "message": f"rate limit exceeded: at most {limit} calls per second",
    }
    response = json_response(body, status_code=429)
    response.headers["Retry-After"] = str(wait)
    return response


async def _until_client_leaves(request: Request, closing: asyncio.Event) -> None:
    """Hold the response until the client gives up (times out) and disconnects,
    or the server is shutting down."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    waiters = [asyncio.create_task(disconnected()), asyncio.create_task(closing.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
