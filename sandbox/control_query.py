"""Readers for control-API query strings (GET /sandbox/...): filters and paging.

A bad value, or a parameter the endpoint does not know, is a plain 400 that names the
parameter (ControlInputError), like a bad field in a control body: a typo such as `?kinds=mass`
must not silently answer with everything."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from starlette.datastructures import QueryParams

from sandbox.control_input import ControlInputError


def reject_unknown(params: QueryParams, known: Collection[str]) -> None:
    unknown = sorted(set(params.keys()) - set(known))
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ControlInputError(
            f"unknown query parameter(s): {', '.join(unknown)} (known: {allowed})"
        )


def single(params: QueryParams, key: str) -> str | None:
    """The parameter's one value, or None when absent; given twice or empty is a 400."""
    values = params.getlist(key)
    if not values:
        return None
    if len(values) > 1:
        raise ControlInputError(f"{key}: given more than once")
    if not values[0]:
        raise ControlInputError(f"{key}: must not be empty")
    return values[0]


def any_of(params: QueryParams, key: str, allowed: Collection[str]) -> set[str] | None:
    """The parameter's values (repeatable: any of them matches), each one of `allowed`."""
    values = params.getlist(key)
    if not values:
        return None
    for value in values:
        if value not in allowed:
            raise ControlInputError(f"{key}: must be one of {', '.join(allowed)}, got {value!r}")
    return set(values)


def uuid_text(params: QueryParams, key: str) -> str | None:
    value = single(params, key)
    if value is not None:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ControlInputError(f"{key}: must be a UUID, got {value!r}") from None
    return value


def optional_int(params: QueryParams, key: str, maximum: int) -> int | None:
    value = single(params, key)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ControlInputError(f"{key}: must be an integer from 1 to {maximum}, got {value!r}")
    return int(value)


def bounded_int(params: QueryParams, key: str, default: int, maximum: int) -> int:
    value = optional_int(params, key, maximum)
    return default if value is None else value
