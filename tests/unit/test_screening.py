"""Screening: the signature both sides compute, the exact body, the reply's checks, and the
requests the activity refuses before any POST (docs/screening.md)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.screening import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    ScreenedRecipient,
    ScreeningActivities,
    ScreeningDecision,
    ScreeningReplyError,
    ScreeningRequest,
    ScreeningResult,
    ScreeningSignatureError,
    _parse_reply,
    _retry_after,
    screening_body,
    screening_signature,
    signed_headers,
    verify_screening_signature,
)
from calypso import wire

SECRET = "whsec_test"
BODY = b'{"payoutKey":"k"}'
STAMP = 1_700_000_000
# printf '1700000000.{"payoutKey":"k"}' | openssl dgst -sha256 -hmac whsec_test
SET = "SCREENING_UNIT_SET"  # a variable the unit tests' environ has
VECTOR = "81c23f8691b09e753f9a958f4bebd886e289beec570f765e69a2195ce195a100"


def request(**overrides: Any) -> ScreeningRequest:
    fields: dict[str, Any] = {
        "payout_key": "payout-1",
        "kind": "mass",
        "currency": "USDT_TRX",
        "sub_account": "main",
        "url": "http://127.0.0.1:9/screen",
        "secret_env": "SCREENING_UNIT_SECRET",
        "recipients": [
            ScreenedRecipient(index=0, address="TAddr0", amount=Decimal("0.1")),
            ScreenedRecipient(index=7, address="TAddr7", amount=Decimal("12.000000000000000001")),
        ],
    }
    fields.update(overrides)
    return ScreeningRequest(**fields)


# --- signing ------------------------------------------------------------------------------------


def test_documented_vector() -> None:
    assert screening_signature(BODY, SECRET, STAMP) == VECTOR
    assert signed_headers(BODY, SECRET, STAMP) == {
        TIMESTAMP_HEADER: "1700000000",
        SIGNATURE_HEADER: f"v1={VECTOR}",
    }


def test_verify_accepts_signed_headers_in_any_case() -> None:
    headers = {name.lower(): value for name, value in signed_headers(BODY, SECRET, STAMP).items()}
    verify_screening_signature(BODY, headers, SECRET, now=STAMP + 299)
    verify_screening_signature(BODY, {"PAYOUTS-TIMESTAMP": str(STAMP),
                                      "payouts-signature": f"v1={VECTOR.upper()}"},
                               SECRET, now=STAMP - 300)  # fmt: skip


def test_verify_accepts_one_matching_entry_among_several() -> None:
    headers = {
        TIMESTAMP_HEADER: str(STAMP),
        SIGNATURE_HEADER: f"v0=abc, v1={'0' * 64}, v1={VECTOR}",
    }
    verify_screening_signature(BODY, headers, SECRET, now=STAMP)


def good() -> dict[str, str]:
    return signed_headers(BODY, SECRET, STAMP)


@pytest.mark.parametrize(
    ("body", "headers", "secret", "now", "reason"),
    [
        (BODY, {SIGNATURE_HEADER: f"v1={VECTOR}"}, SECRET, STAMP, "missing Payouts-Timestamp"),
        (BODY, {**good(), TIMESTAMP_HEADER: "17e8"}, SECRET, STAMP, "not unix seconds"),
        (BODY, {**good(), TIMESTAMP_HEADER: "-1700000000"}, SECRET, STAMP, "not unix seconds"),
        (BODY, good(), SECRET, STAMP + 301, "away from now"),  # a replay
        (BODY, good(), SECRET, STAMP - 301, "away from now"),  # from the future
        (BODY, {TIMESTAMP_HEADER: str(STAMP)}, SECRET, STAMP, "missing Payouts-Signature"),
        (BODY, {**good(), SIGNATURE_HEADER: VECTOR}, SECRET, STAMP, "missing Payouts-Signature"),
        (BODY, {**good(), SIGNATURE_HEADER: f"v2={VECTOR}"}, SECRET, STAMP, "missing"),
        (BODY, good(), "another-secret", STAMP, "does not match"),
        (BODY + b" ", good(), SECRET, STAMP, "does not match"),
        (BODY, {**good(), TIMESTAMP_HEADER: str(STAMP + 1)}, SECRET, STAMP, "does not match"),
        (BODY, {**good(), SIGNATURE_HEADER: "v1=ünïcode"}, SECRET, STAMP, "does not match"),
        (BODY, good(), "", STAMP, "no secret"),
    ],
)
def test_verify_rejects(
    body: bytes, headers: dict[str, str], secret: str, now: float, reason: str
) -> None:
    with pytest.raises(ScreeningSignatureError, match=reason):
        verify_screening_signature(body, headers, secret, now=now)


def test_tolerance_is_configurable() -> None:
    verify_screening_signature(BODY, good(), SECRET, now=STAMP + 3600, tolerance_seconds=3600)
    with pytest.raises(ScreeningSignatureError):
        verify_screening_signature(BODY, good(), SECRET, now=STAMP + 5, tolerance_seconds=1)


# --- the body -----------------------------------------------------------------------------------


def test_body_is_compact_camel_case_with_exact_amounts() -> None:
    screening = request()
    body = screening_body(screening, screening.recipients)
    assert body == (
        b'{"payoutKey":"payout-1","kind":"mass","currency":"USDT_TRX","subAccount":"main",'
        b'"recipients":[{"index":0,"address":"TAddr0","amount":0.1},'
        b'{"index":7,"address":"TAddr7","amount":12.000000000000000001}]}'
    )
    assert wire.loads(body)["recipients"][1]["amount"] == Decimal("12.000000000000000001")


def test_models_refuse_float_amounts() -> None:
    with pytest.raises(ValueError, match="never float"):
        ScreenedRecipient(index=0, address="T", amount=0.1)


# --- the reply ----------------------------------------------------------------------------------


def test_reply_is_kept_with_its_reasons() -> None:
    reply = (
        b'{"decisions":[{"index":7,"decision":"deny","reason":"sanctioned","score":0.93},'
        b'{"index":0,"decision":"allow"}],"vendor":"x"}'
    )
    decisions = _parse_reply(reply, [0, 7], "here")
    assert [(d.index, d.decision, d.reason) for d in decisions] == [
        (7, "deny", "sanctioned"),
        (0, "allow", None),
    ]


def test_long_reasons_are_cut() -> None:
    reply = wire.dumps({"decisions": [{"index": 0, "decision": "review", "reason": "x" * 9000}]})
    assert _parse_reply(reply, [0], "here")[0].reason == "x" * 500


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (b"", "not JSON"),
        (b"<html>ok</html>", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "decisions document"),
        (b"{}", "decisions: Field required"),
        (b'{"decisions":{}}', "decisions document"),
        (b'{"decisions":[{"index":0,"decision":"ALLOW"}]}', "decisions.0.decision"),
        (b'{"decisions":[{"index":0,"decision":"maybe"}]}', "decisions.0.decision"),
        (b'{"decisions":[{"index":0}]}', "decisions.0.decision"),
        (b'{"decisions":[{"index":"0","decision":"allow"}]}', "decisions.0.index"),
        (b'{"decisions":[{"index":0.0,"decision":"allow"}]}', "decisions.0.index"),
        (b'{"decisions":[{"index":true,"decision":"allow"}]}', "decisions.0.index"),
        (b'{"decisions":[{"index":0,"decision":"deny","reason":5}]}', "decisions.0.reason"),
        (b'{"decisions":[]}', "1 missing \\(index 0\\)"),
        (
            b'{"decisions":[{"index":0,"decision":"allow"},{"index":1,"decision":"allow"}]}',
            "1 not sent \\(index 1\\)",
        ),
        (
            b'{"decisions":[{"index":0,"decision":"allow"},{"index":0,"decision":"deny"}]}',
            "1 repeated \\(index 0\\)",
        ),
        (b"[" * 100_000, "nested too deeply|not JSON"),
    ],
)
def test_reply_that_does_not_answer_exactly_raises(reply: bytes, reason: str) -> None:
    with pytest.raises(ScreeningReplyError, match=reason) as raised:
        _parse_reply(reply, [0], "here")
    assert raised.value.retryable


def test_reply_errors_never_quote_the_values() -> None:
    reply = b'{"decisions":[{"index":0,"decision":"TSecretAddressEcho"}]}'
    with pytest.raises(ScreeningReplyError) as raised:
        _parse_reply(reply, [0], "here")
    assert "TSecretAddressEcho" not in str(raised.value)


# --- requests refused before any POST -----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "type_", "reason"),
    [
        ({}, "ScreeningNotConfiguredError", "'SCREENING_UNIT_SECRET' is not set or empty"),
        ({"secret_env": ""}, "ScreeningNotConfiguredError", "no name"),
        ({"secret_env": "SCREENING_UNIT_BLANK"}, "ScreeningNotConfiguredError", "not set or empty"),
        ({"secret_env": SET, "chunk_size": 0}, "ScreeningRequestError", "chunk"),
        ({"secret_env": SET, "timeout_seconds": 0}, "ScreeningRequestError", ">"),
        ({"secret_env": SET, "url": "ftp://x/"}, "ScreeningRequestError", "http"),
        ({"secret_env": SET, "url": "http:///x"}, "ScreeningRequestError", "host"),
        (
            {"secret_env": SET, "url": "http://a:b/"},
            "ScreeningRequestError",
            "URL",
        ),
        (
            {
                "secret_env": SET,
                "recipients": [
                    ScreenedRecipient(index=3, address="TAddr", amount=Decimal(1)),
                    ScreenedRecipient(index=3, address="TOther", amount=Decimal(2)),
                ],
            },
            "ScreeningRequestError",
            "unique",
        ),
    ],
)
async def test_requests_that_cannot_be_sent_fail_for_good(
    overrides: dict[str, Any], type_: str, reason: str
) -> None:
    environ = {"SCREENING_UNIT_BLANK": "  ", SET: "s3cret"}
    activities = ScreeningActivities(environ=environ)
    try:
        with pytest.raises(ApplicationError, match=reason) as raised:
            await ActivityEnvironment().run(activities.screen_recipients, request(**overrides))
    finally:
        await activities.close()
    assert raised.value.type == type_
    assert raised.value.non_retryable
    assert "s3cret" not in str(raised.value)


async def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCREENING_UNIT_SECRET", raising=False)
    activities = ScreeningActivities()
    try:
        with pytest.raises(ApplicationError, match="SCREENING_UNIT_SECRET") as raised:
            await ActivityEnvironment().run(activities.screen_recipients, request())
    finally:
        await activities.close()
    assert raised.value.non_retryable


async def test_no_recipients_no_post() -> None:
    activities = ScreeningActivities(environ={"SCREENING_UNIT_SECRET": "s"})
    try:  # the URL refuses connections: any POST would fail
        result = await ActivityEnvironment().run(
            activities.screen_recipients, request(recipients=[])
        )
    finally:
        await activities.close()
    assert result.decisions == []


def test_models_round_trip_the_data_converter_exactly() -> None:
    converter = pydantic_data_converter.payload_converter
    screening = request()
    [payload] = converter.to_payloads([screening])
    [back] = converter.from_payloads([payload], [ScreeningRequest])
    assert back == screening
    assert back.recipients[1].amount == Decimal("12.000000000000000001")
    result = ScreeningResult(
        decisions=[ScreeningDecision(index=3, decision="review", reason="why")]
    )
    [payload] = converter.to_payloads([result])
    assert converter.from_payloads([payload], [ScreeningResult]) == [result]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("12", 12.0), ("0", 0.0), ("99999", 600.0), ("Wed, 21 Oct 2026", None)],
)
def test_retry_after_is_seconds_only_and_capped(value: str | None, expected: float | None) -> None:
    headers = {} if value is None else {"Retry-After": value}
    assert _retry_after(httpx.Response(503, headers=headers)) == expected
