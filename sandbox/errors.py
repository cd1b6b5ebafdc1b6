"""Provider error codes (docs/provider-api.md §2) and the exception that carries one to the wire."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INTERNAL = "000"
    BAD_REQUEST = "001"
    INVALID_API_KEY = "002"
    WRONG_SIGN = "003"
    NOT_FOUND = "004"
    INVALID_TIMESTAMP = "011"
    INVALID_STATE = "012"
    INVALID_CURRENCY = "014"
    ADDRESS_MISMATCH = "015"
    DUPLICATE = "016"


class ApiError(Exception):
    """Raised by any API handler step to answer with the provider's error body."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return 500 if self.code is ErrorCode.INTERNAL else 400


def bad_request(field: str, reason: str) -> ApiError:
    """001 whose message names the field first, e.g. `payload.amount: must be > 0`."""
    return ApiError(ErrorCode.BAD_REQUEST, f"{field}: {reason}")
