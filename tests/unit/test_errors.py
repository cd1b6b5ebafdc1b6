"""The provider's error codes map to the right class, permanent or transient."""

from __future__ import annotations

import pytest

from calypso import errors
from calypso.errors import error_from_response


@pytest.mark.parametrize(
    ("status", "code", "cls", "retryable"),
    [
        (500, "000", errors.ServerError, True),
        (400, "001", errors.BadRequestError, False),
        (400, "002", errors.InvalidApiKeyError, False),
        (400, "003", errors.InvalidSignatureError, False),
        (400, "004", errors.NotFoundError, False),
        (400, "011", errors.TimestampError, True),
        (400, "012", errors.InvalidStateError, False),
        (400, "014", errors.CurrencyError, False),
        (400, "015", errors.CurrencyError, False),
        (400, "016", errors.DuplicateKeyError, False),
        (400, "099", errors.UnexpectedResponseError, False),
        (503, None, errors.ServerError, True),
        (429, None, errors.ServerError, True),
    ],
)
def test_mapping(
    status: int, code: str | None, cls: type[errors.CalypsoError], retryable: bool
) -> None:
    body = (
        b'{"traceId": "t-1", "errorCode": "%s", "message": "why"}' % code.encode()
        if code
        else b"<html>gateway</html>"
    )
    error = error_from_response(status, body)
    assert type(error) is cls
    assert error.retryable is retryable
    assert isinstance(error, errors.TransientError if retryable else errors.PermanentError)
    assert error.http_status == status
    if code:
        assert (error.code, error.message, error.trace_id) == (code, "why", "t-1")
        assert str(error) == f"[{code}] why (traceId t-1)"
    else:
        assert "gateway" in error.message
