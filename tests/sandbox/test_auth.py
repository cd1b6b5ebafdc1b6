"""Authentication over real HTTP: key (002), signature (003), JSON (001), timestamp (011)."""

from __future__ import annotations

import json
import time

from tests.sandbox.helpers import SandboxClient, exact_json, hmac_sha512_hex


def test_unknown_key_is_002(api: SandboxClient) -> None:
    status, code, message = api.error("/api/v1/account", key="someone-else")
    assert (status, code) == (400, "002")
    assert "Key" in message


def test_wrong_signature_is_003(api: SandboxClient) -> None:
    status, code, _ = api.error("/api/v1/account", secret="not-the-secret")
    assert (status, code) == (400, "003")


def test_signature_covers_the_exact_bytes(api: SandboxClient) -> None:
    body = api.envelope()
    signed_then_reformatted = json.dumps(json.loads(body), indent=2).encode()
    response = api.http.post(
        "/api/v1/account",
        content=signed_then_reformatted,
        headers={
            "Key": api.settings.api_key,
            "Sign": hmac_sha512_hex(body, api.settings.api_secret),
        },
    )
    assert exact_json(response.content)["errorCode"] == "003"


def test_key_is_checked_before_signature_and_signature_before_json(api: SandboxClient) -> None:
    garbage = b"{not json"
    assert exact_json(api.send("/api/v1/account", garbage, key="x").content)["errorCode"] == "002"
    bad_sign = api.send("/api/v1/account", garbage, secret="x")
    assert exact_json(bad_sign.content)["errorCode"] == "003"
    signed = exact_json(api.send("/api/v1/account", garbage).content)
    assert signed["errorCode"] == "001"
    assert signed["message"].startswith("body: malformed JSON")


def test_stale_or_future_timestamp_is_011(api: SandboxClient) -> None:
    now = int(time.time() * 1000)
    for timestamp in (now - 181_000, now + 181_000):
        body = json.dumps({"account": api.settings.account, "timestamp": timestamp}).encode()
        error = exact_json(api.send("/api/v1/account", body).content)
        assert error["errorCode"] == "011", error
    inside = json.dumps({"account": api.settings.account, "timestamp": now - 170_000}).encode()
    assert api.send("/api/v1/account", inside).status_code == 200


def test_timestamp_must_be_integer_milliseconds(api: SandboxClient) -> None:
    for envelope in ({"account": api.settings.account}, {"timestamp": "1700000000000"}):
        error = exact_json(api.send("/api/v1/account", json.dumps(envelope).encode()).content)
        assert error["errorCode"] == "001"
        assert error["message"].startswith("timestamp:")


def test_foreign_account_is_002(api: SandboxClient) -> None:
    body = json.dumps({"account": "someone", "timestamp": int(time.time() * 1000)}).encode()
    error = exact_json(api.send("/api/v1/account", body).content)
    assert error["errorCode"] == "002"
    assert error["message"].startswith("account:")


def test_tariff_call_needs_no_account(api: SandboxClient) -> None:
    items = {"items": [{"baseAmount": 10, "currency": "USDT", "opType": "WITHDRAWAL"}]}
    quote = api.ok("/api/v1/tariff/extended-fee", items, account=False)["items"][0]
    assert quote["feeSender"] == {"amount": exact_json("10.05"), "fee": exact_json("0.05")}


def test_request_log_keeps_body_but_never_the_signature(api: SandboxClient) -> None:
    api.call("/api/v1/account", secret="wrong")
    api.call("/api/v1/account")
    entries = api.control("GET", "/requests?path=/api/v1/account")
    assert [(e["status"], e["errorCode"]) for e in entries] == [(400, "003"), (200, None)]
    assert entries[1]["account"] == api.settings.account
    logged = json.dumps(entries)
    assert api.settings.api_secret not in logged
    assert "Sign" not in logged and "sign" not in entries[0]
