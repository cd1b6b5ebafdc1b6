"""Readers for payload fields: each returns a typed value or raises 001 naming the field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox import money
from sandbox.currencies import CURRENCIES, Currency
from sandbox.errors import ApiError, ErrorCode, bad_request
from sandbox.scenarios import shape_of

JsonObject = dict[str, Any]


def optional_text(obj: JsonObject, key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"{where}.{key}", "must be a string")
    return value


def required_text(obj: JsonObject, key: str, where: str) -> str:
    value = optional_text(obj, key, where)
    if value is None or not value.strip():
        raise bad_request(f"{where}.{key}", "is required")
    return value


def optional_id(obj: JsonObject, key: str, where: str) -> str | None:
    """Ids are strings on the wire; a JSON integer is tolerated and read as its digits."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{where}.{key}", "must be a non-empty string id")
    return value


def optional_uuid(obj: JsonObject, key: str, where: str) -> str | None:
    value = optional_text(obj, key, where)
    if value is None:
        return None
    try:
        uuid.UUID(value)
    except ValueError:
        raise bad_request(f"{where}.{key}", f"must be a UUID, got {value!r}") from None
    return value


def optional_bool(obj: JsonObject, key: str, where: str) -> bool | None:
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise bad_request(f"{where}.{key}", "must be true or false")


def optional_int(obj: JsonObject, key: str, where: str, minimum: int, maximum: int) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{where}.{key}", "must be an integer")
    if not minimum <= value <= maximum:
        raise bad_request(f"{where}.{key}", f"must be between {minimum} and {maximum}")
    return value


def optional_text_list(obj: JsonObject, key: str, where: str, allowed: set[str]) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_request(f"{where}.{key}", "must be an array of strings")
    for index, item in enumerate(value):
        if item not in allowed:
            expected = ", ".join(sorted(allowed))
            raise bad_request(f"{where}.{key}[{index}]", f"must be one of {expected}")
    return list(value)


def number(obj: JsonObject, key: str, where: str) -> Decimal:
    """A JSON number as an exact Decimal; strings are refused so nobody relies on coercion."""
    value = obj.get(key)
    field = f"{where}.{key}"
    if value is None:
        raise bad_request(field, "is required")
    if isinstance(value, str):
        raise bad_request(field, "must be a JSON number, not a string")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise bad_request(field, "must be a JSON number")
    amount = Decimal(value)
    if abs(amount) > money.MAX_AMOUNT:
        raise bad_request(field, f"must not exceed {money.MAX_AMOUNT:f}")
    return amount


def amount_for(
    obj: JsonObject, key: str, where: str, currency: Currency, *, zero_ok: bool = False
) -> Decimal:
    """An amount in `currency`: positive (or >= 0 when zero_ok) and within its decimal scale."""
    amount = number(obj, key, where)
    field = f"{where}.{key}"
    if amount < 0 or (amount == 0 and not zero_ok):
        raise bad_request(field, "must be >= 0" if zero_ok else "must be greater than 0")
    if not money.fits_scale(amount, currency.scale):
        raise bad_request(
            field, f"has more than {currency.scale} decimal places allowed for {currency.code}"
        )
    return amount


def currency(obj: JsonObject, key: str, where: str) -> Currency:
    code = required_text(obj, key, where)
    found = CURRENCIES.get(code)
    if found is None:
        raise ApiError(
            ErrorCode.INVALID_CURRENCY, f"{where}.{key}: unknown or unsupported currency {code!r}"
        )
    return found


def deposit_address(obj: JsonObject, key: str, where: str, currency: Currency) -> str:
    address = required_text(obj, key, where)
    problem = currency.address_problem(shape_of(address))
    if problem:
        raise ApiError(ErrorCode.ADDRESS_MISMATCH, f"{where}.{key}: {problem}")
    return address


def optional_datetime(obj: JsonObject, key: str, where: str) -> datetime | None:
    text = optional_text(obj, key, where)
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"{where}.{key}", f"must be an ISO-8601 date-time, got {text!r}"
        ) from None
    # A date-time without an offset is read as UTC, the provider's only zone.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
