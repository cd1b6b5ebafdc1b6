"""Test-side client for the sandbox: signs like the provider documents, independently of
`activities` (the sandbox's tests must not share the client's mistakes either)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import simplejson

from sandbox import SandboxSettings


def hmac_sha512_hex(body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def exact_json(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


# Waits and HTTP calls here are bounded generously: what they wait for takes well under a second
# (a few 20 ms steps, a webhook, an in-memory answer), but the sandbox is a thread of the test
# process sharing its GIL, on a 2-core machine that may be busy with other tests; 5 s was tight.
# A passing wait returns as soon as its condition holds, so the bound costs nothing.
WAIT_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = 30.0


def wait_for(
    condition: Callable[[], object], timeout: float = WAIT_SECONDS, what: str = ""
) -> None:
    """Poll until `condition()` is truthy; fail after `timeout` seconds (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


class SandboxClient:
    def __init__(
        self, url: str, settings: SandboxSettings, timeout: float = HTTP_TIMEOUT_SECONDS
    ) -> None:
        self.url = url
        self.settings = settings
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    # --- provider API ----------------------------------------------------------------
    def envelope(self, payload: Any = None, *, account: bool = True) -> bytes:
        body: dict[str, Any] = {"timestamp": int(time.time() * 1000)}
        if account:
            body["account"] = self.settings.account
        if payload is not None:
            body["payload"] = payload
        # Decimal amounts must go out as exact JSON numbers.
        return simplejson.dumps(body, use_decimal=True).encode()

    def send(
        self,
        path: str,
        body: bytes,
        *,
        method: str = "POST",
        key: str | None = None,
        secret: str | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        headers = {
            "Key": key if key is not None else self.settings.api_key,
            "Sign": hmac_sha512_hex(
                body, secret if secret is not None else self.settings.api_secret
            ),
            "Content-Type": "application/json",
        }
        if timeout is None:
            return self.http.request(method, path, content=body, headers=headers)
        return self.http.request(method, path, content=body, headers=headers, timeout=timeout)

    def call(
        self, path: str, payload: Any = None, *, account: bool = True, **kw: Any
    ) -> httpx.Response:
        return self.send(path, self.envelope(payload, account=account), **kw)

    def ok(self, path: str, payload: Any = None, **kw: Any) -> Any:
        response = self.call(path, payload, **kw)
        assert response.status_code == 200, response.text
        return exact_json(response.content)

    def error(self, path: str, payload: Any = None, **kw: Any) -> tuple[int, str, str]:
        response = self.call(path, payload, **kw)
        body = exact_json(response.content)
        assert set(body) == {"traceId", "errorCode", "message"}, body
        return response.status_code, body["errorCode"], body["message"]

    def payout(self, payout_id: str) -> Any:
        return self.ok("/api/v1/payout", {"id": payout_id})

    def mass_payout(self, payout_id: str) -> Any:
        return self.ok("/api/v1/payout/mass", {"id": payout_id})

    def wait_state(self, payout_id: str, states: set[str], mass: bool = False) -> Any:
        get = self.mass_payout if mass else self.payout
        latest: dict[str, Any] = {}

        def reached() -> bool:
            latest.update(get(payout_id))
            return latest["state"] in states

        wait_for(reached, what=f"{payout_id} in {states}")
        return latest

    def balance(self, currency: str) -> Decimal:
        balances = self.ok("/api/v1/account")["balances"]
        return next(Decimal(b["amount"]) for b in balances if b["currency"] == currency)

    # --- control API -----------------------------------------------------------------
    def control(self, method: str, path: str, body: Any = None) -> Any:
        content = None if body is None else simplejson.dumps(body, use_decimal=True)
        response = self.http.request(method, f"/sandbox{path}", content=content)
        assert response.status_code == 200, response.text
        return exact_json(response.content)

    def subscribe(self, url: str, request_id: str, **types: list[str]) -> Any:
        payload = {
            "requestId": request_id,
            "notificationEventTypes": types.get("events", []),
            "notificationServiceTypes": types.get("services", ["PAYOUT"]),
            "url": url,
        }
        return self.ok("/api/v1/subscription/webhook/create", payload)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A tiny HTTP server that records webhook deliveries and answers with chosen statuses."""

    deliveries: list[Delivery] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # consumed first, then 200
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def received(self, predicate: Callable[[Any], bool] = lambda e: True) -> list[Delivery]:
        with self.lock:
            return [d for d in self.deliveries if predicate(d.event)]

    def serve(self) -> ThreadingHTTPServer:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/calypso"
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        return server
