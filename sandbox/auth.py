"""Authenticate a provider API call the way the provider does, in the provider's order:
key (002) → signature over the raw bytes (003) → JSON (001) → timestamp (011) → account (002)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.errors import ApiError, ErrorCode, bad_request
from sandbox.jsonwire import MalformedJson, loads_exact
from sandbox.settings import SandboxSettings
from sandbox.signing import signature_matches

MAX_CLOCK_SKEW_MS = 3 * 60 * 1000


@dataclass(frozen=True)
class ApiCall:
    """An authenticated request: whose it is and what it asks for."""

    account: str
    payload: dict[str, Any]


def authenticate(
    body: bytes,
    headers: Mapping[str, str],
    settings: SandboxSettings,
    *,
    now_ms: int,
    account_required: bool,
) -> ApiCall:
    key = headers.get("key", "")
    if not hmac.compare_digest(key.encode("latin-1"), settings.api_key.encode()):
        raise ApiError(ErrorCode.INVALID_API_KEY, "Key header: unknown API key")
    if not signature_matches(body, settings.api_secret, headers.get("sign", "")):
        raise ApiError(ErrorCode.WRONG_SIGN, "Sign header: not the HMAC-SHA512 of the request body")
    try:
        envelope = loads_exact(body)
    except MalformedJson as exc:
        raise bad_request("body", str(exc)) from None
    if not isinstance(envelope, dict):
        raise bad_request("body", "must be a JSON object")
    _check_timestamp(envelope.get("timestamp"), now_ms)
    account = envelope.get("account")
    if account is None and account_required:
        raise bad_request("account", "is required")
    if account is not None and account != settings.account:
        raise ApiError(ErrorCode.INVALID_API_KEY, "account: does not belong to this API key")
    payload = envelope.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise bad_request("payload", "must be a JSON object")
    return ApiCall(account=settings.account, payload=payload)


def _check_timestamp(timestamp: Any, now_ms: int) -> None:
    if timestamp is None:
        raise bad_request("timestamp", "is required (Unix time in milliseconds)")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise bad_request("timestamp", "must be an integer (Unix time in milliseconds)")
    if abs(now_ms - timestamp) > MAX_CLOCK_SKEW_MS:
        raise ApiError(
            ErrorCode.INVALID_TIMESTAMP,
            f"timestamp: {timestamp} is more than 3 minutes away from server time {now_ms}",
        )
