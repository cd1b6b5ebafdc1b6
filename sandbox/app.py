"""The FastAPI application: provider API under /api/v1, control API under /sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from sandbox.api_account import AccountApi
from sandbox.api_payouts import PayoutApi
from sandbox.control_input import ControlConflict, ControlInputError, ControlNotFound
from sandbox.control_inspect import inspect_router
from sandbox.control_rate import rate_router
from sandbox.control_report import report_router
from sandbox.control_settings import settings_router
from sandbox.control_ui import ui_router
from sandbox.engine import NotPendingConfirmation
from sandbox.jsonwire import json_response
from sandbox.runtime import SandboxRuntime
from sandbox.settings import SandboxSettings


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """Build a sandbox; settings default to SANDBOX_* environment variables, read once here."""
    runtime = SandboxRuntime.build(settings or SandboxSettings.from_env())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Background work (the payout engine, webhook deliveries) lives exactly as long as
        # the server does.
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Calypso Pay sandbox", lifespan=lifespan)
    app.state.runtime = runtime
    PayoutApi(runtime).register(app)
    AccountApi(runtime).register(app)
    app.include_router(settings_router(runtime))
    app.include_router(inspect_router(runtime))
    app.include_router(ui_router(runtime))
    app.include_router(report_router(runtime))
    app.include_router(rate_router(runtime))
    _add_control_error_handlers(app)
    return app


def _add_control_error_handlers(app: FastAPI) -> None:
    async def bad_input(_: Request, exc: Exception) -> Response:
        return json_response({"error": str(exc)}, status_code=400)

    async def not_found(_: Request, exc: Exception) -> Response:
        return json_response({"error": str(exc.args[0]) if exc.args else "not found"}, 404)

    async def wrong_state(_: Request, exc: Exception) -> Response:
        return json_response({"error": str(exc)}, status_code=409)

    app.add_exception_handler(ControlInputError, bad_input)
    app.add_exception_handler(ControlNotFound, not_found)
    app.add_exception_handler(NotPendingConfirmation, wrong_state)
    app.add_exception_handler(ControlConflict, wrong_state)
