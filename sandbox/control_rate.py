"""Control API: what the emulated rate limit saw (`sandbox/rate_limit.py`). The limit itself
is set with `POST /sandbox/config {"rateLimitPerSecond": N}`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from sandbox.jsonwire import json_response
from sandbox.runtime import SandboxRuntime


def rate_router(runtime: SandboxRuntime) -> APIRouter:
    router = APIRouter(prefix="/sandbox")
    rate = runtime.state.rate

    @router.get("/rate")
    async def get_rate() -> Response:
        return json_response(rate.report())

    @router.delete("/rate")
    async def forget_calls() -> Response:
        rate.reset()
        return json_response(rate.report())

    return router
