"""Exact JSON: numbers parse to Decimal and serialize back digit for digit, never via float."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import simplejson
from starlette.responses import Response


class MalformedJson(ValueError):
    """Raised when a body is not JSON the provider would accept."""


class _PlainDecimal(Decimal):
    # str(Decimal("0.00000050")) is "5.0E-7": valid JSON, but an amount should read like one.
    def __str__(self) -> str:
        return format(self, "f")


def _reject_constant(name: str) -> Any:
    raise MalformedJson(f"{name} is not a JSON number")


def loads_exact(raw: bytes) -> Any:
    """Parse JSON keeping every number exact (floats become Decimal, NaN is refused)."""
    try:
        text = raw.decode("utf-8")
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise MalformedJson("body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"malformed JSON: {exc.msg} at position {exc.pos}") from None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _PlainDecimal(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def dumps_exact(value: Any) -> bytes:
    """Compact JSON with Decimals written as exact numbers (never strings, never floats)."""
    text = simplejson.dumps(_plain(value), use_decimal=True, separators=(",", ":"))
    return text.encode("utf-8")


def json_response(value: Any, status_code: int = 200) -> Response:
    return Response(dumps_exact(value), status_code=status_code, media_type="application/json")
