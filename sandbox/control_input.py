"""Readers for control-API bodies (/sandbox/...): plain 400s, no provider error codes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


class ControlInputError(ValueError):
    """Raised when a /sandbox request body has a field the sandbox cannot use (HTTP 400)."""


class ControlConflict(ValueError):
    """Raised when a /sandbox request cannot apply to the payout as it is now (HTTP 409)."""


class ControlNotFound(LookupError):
    """Raised when a /sandbox request names a payout the sandbox does not have (HTTP 404)."""


def read_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ControlInputError("body must be a JSON object")
    return value


def read_decimal(body: dict[str, Any], key: str, *, minimum: Decimal = Decimal(0)) -> Decimal:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ControlInputError(f"{key}: must be a JSON number")
    number = Decimal(value)
    if not number.is_finite() or number < minimum:
        raise ControlInputError(f"{key}: must be >= {minimum}")
    return number


def read_fraction(body: dict[str, Any], key: str) -> float:
    value = read_decimal(body, key)
    if value > 1:
        raise ControlInputError(f"{key}: must be between 0 and 1")
    return float(value)


def read_count(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ControlInputError(f"{key}: must be an integer >= 0")
    return value


def read_flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise ControlInputError(f"{key}: must be true or false")
    return value


def read_text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ControlInputError(f"{key}: must be a non-empty string")
    return value


def read_text_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ControlInputError(f"{key}: must be an array of strings")
    return list(value)
