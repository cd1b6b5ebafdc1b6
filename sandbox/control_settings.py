"""Control API, part 1: health, reset, balances, fees, runtime config and the virtual clock.

Plain JSON without signing, numbers exact like the provider API; errors are
`{"error": "..."}` with 400 (bad input), 404 (unknown payout) or 409 (wrong state)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from sandbox import money
from sandbox.clock import iso_utc
from sandbox.control_input import (
    ControlInputError,
    read_count,
    read_decimal,
    read_flag,
    read_object,
    read_text,
)
from sandbox.currencies import CURRENCIES, Currency
from sandbox.jsonwire import MalformedJson, json_response, loads_exact
from sandbox.runtime import SandboxRuntime


async def read_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        return read_object(loads_exact(raw) if raw.strip() else {})
    except MalformedJson as exc:
        raise ControlInputError(str(exc)) from None


def _currency(body: dict[str, Any]) -> Currency:
    code = read_text(body, "currency")
    if code not in CURRENCIES:
        raise ControlInputError(f"currency: unknown currency {code!r}")
    return CURRENCIES[code]


def _scaled(body: dict[str, Any], key: str, currency: Currency) -> Decimal:
    value = read_decimal(body, key)
    if not money.fits_scale(value, currency.scale):
        raise ControlInputError(f"{key}: more than {currency.scale} decimals for {currency.code}")
    return value


def settings_router(runtime: SandboxRuntime) -> APIRouter:
    router = APIRouter(prefix="/sandbox")
    state = runtime.state

    def balances() -> Response:
        account = runtime.settings.account
        listed = [{"currency": c, "amount": a} for c, a in state.balances_of(account).items()]
        return json_response({"account": account, "balances": listed})

    def tariffs() -> Response:
        return json_response(
            {code: {"percent": t.percent, "fixed": t.fixed} for code, t in state.tariffs.items()}
        )

    def config() -> Response:
        c = state.config
        return json_response(
            {
                "stepDelaySeconds": c.step_delay_seconds,
                "verification": c.verification,
                "webhookTimeScale": c.webhook_time_scale,
                "itemLimits": c.item_limits,
                "rateLimitPerSecond": state.rate.limit,
            }
        )

    def clock() -> Response:
        return json_response(
            {"now": iso_utc(state.clock.now()), "offsetSeconds": state.clock.offset_seconds}
        )

    @router.get("/health")
    async def health() -> Response:
        return json_response({"status": "ok", "account": runtime.settings.account})

    @router.post("/reset")
    async def reset() -> Response:
        runtime.reset()
        return json_response({"status": "reset"})

    @router.get("/balances")
    async def get_balances() -> Response:
        return balances()

    @router.post("/balances")
    async def set_balance(request: Request) -> Response:
        body = await read_body(request)
        currency = _currency(body)
        state.set_balance(runtime.settings.account, currency, _scaled(body, "amount", currency))
        return balances()

    @router.get("/fees")
    async def get_fees() -> Response:
        return tariffs()

    @router.post("/fees")
    async def set_fee(request: Request) -> Response:
        body = await read_body(request)
        currency = _currency(body)
        tariff = state.tariffs[currency.code]
        percent = read_decimal(body, "percent") if "percent" in body else tariff.percent
        fixed = _scaled(body, "fixed", currency) if "fixed" in body else tariff.fixed
        if percent > 100:
            raise ControlInputError("percent: must be between 0 and 100")
        tariff.percent, tariff.fixed = percent, fixed
        return tariffs()

    @router.get("/config")
    async def get_config() -> Response:
        return config()

    @router.post("/config")
    async def set_config(request: Request) -> Response:
        body = await read_body(request)
        changes = _config_changes(body)  # validate everything before changing anything
        for attr, value in changes.items():
            if attr == "item_limits":
                state.config.item_limits.update(value)
            elif attr == "rate_limit":
                state.rate.set_limit(value)
            else:
                setattr(state.config, attr, value)
        runtime.engine.wake()
        return config()

    @router.get("/clock")
    async def get_clock() -> Response:
        return clock()

    @router.post("/clock")
    async def advance_clock(request: Request) -> Response:
        body = await read_body(request)
        state.clock.advance(float(read_decimal(body, "advanceSeconds")))
        runtime.engine.recheck_holds()
        return clock()

    return router


def _config_changes(body: dict[str, Any]) -> dict[str, Any]:
    known = {
        "stepDelaySeconds",
        "verification",
        "webhookTimeScale",
        "itemLimits",
        "rateLimitPerSecond",
    }
    unknown = set(body) - known
    if unknown:
        raise ControlInputError(f"unknown config field(s): {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    if "stepDelaySeconds" in body:
        changes["step_delay_seconds"] = float(read_decimal(body, "stepDelaySeconds"))
    if "verification" in body:
        changes["verification"] = read_flag(body, "verification")
    if "webhookTimeScale" in body:
        scale = read_decimal(body, "webhookTimeScale")
        if scale == 0:
            raise ControlInputError("webhookTimeScale: must be greater than 0")
        changes["webhook_time_scale"] = float(scale)
    if "itemLimits" in body:
        limits = body["itemLimits"]
        if not isinstance(limits, dict):
            raise ControlInputError("itemLimits: must be an object of currency: limit")
        for code in limits:
            if code not in CURRENCIES:
                raise ControlInputError(f"itemLimits: unknown currency {code!r}")
            if read_count(limits, code) < 1:
                raise ControlInputError(f"itemLimits.{code}: must be at least 1")
        changes["item_limits"] = dict(limits)
    if "rateLimitPerSecond" in body:  # null: no limit
        limit = body["rateLimitPerSecond"]
        if limit is not None and read_count(body, "rateLimitPerSecond") < 1:
            raise ControlInputError("rateLimitPerSecond: must be an integer >= 1, or null")
        changes["rate_limit"] = limit
    return changes
