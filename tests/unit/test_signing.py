"""Signing as docs/provider-api.md §1 records it, and webhook verification over raw bytes."""

from __future__ import annotations

import pytest

from calypso.signing import SignatureError, sign, verify

DOC_KEY = "c529e14832b34b74972365cf7bf02430"
DOC_SECRET = "b823a6b9ea72408583cef9ec8d67fa52"
DOC_SIGN = (
    "b16e9d45f49f2069becbc4f108b237bee588cfc353fe9501df103e692acbc68d"
    "482a10d34c12bea22fedde7e28e1b8e57a6a0a373b0e9a27c5257bd8b36e13b9"
)


def test_documented_vector() -> None:
    assert sign(b'{"timestamp":1}', DOC_SECRET) == DOC_SIGN


def test_whitespace_changes_the_signature() -> None:
    assert sign(b'{"timestamp": 1}', DOC_SECRET) != DOC_SIGN


def test_verify_accepts_any_configured_key_and_returns_it() -> None:
    keys = {"old": "old-secret", DOC_KEY: DOC_SECRET}
    headers = {"key": DOC_KEY, "SIGN": DOC_SIGN.upper()}
    assert verify(b'{"timestamp":1}', headers, keys) == DOC_KEY


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Sign": DOC_SIGN}, "missing"),
        ({"Key": "someone-else", "Sign": DOC_SIGN}, "unknown Key"),
        ({"Key": DOC_KEY, "Sign": "00" * 64}, "does not match"),
    ],
)
def test_verify_rejects(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify(b'{"timestamp":1}', headers, {DOC_KEY: DOC_SECRET})


def test_verify_rejects_a_tampered_body() -> None:
    with pytest.raises(SignatureError):
        verify(b'{"timestamp":2}', {"Key": DOC_KEY, "Sign": DOC_SIGN}, {DOC_KEY: DOC_SECRET})
