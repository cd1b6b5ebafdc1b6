"""The emulated provider rate limit: at most N signed API calls in any 1-second window, a 429
in the provider's error shape with `Retry-After` beyond it, and the highest rate seen."""

from __future__ import annotations

import time

from sandbox.rate_limit import RateLimit
from tests.sandbox.helpers import SandboxClient, exact_json

ACCOUNT = "/api/v1/account"


def test_over_the_limit_is_429_with_retry_after_in_the_provider_shape(api: SandboxClient) -> None:
    config = api.control("POST", "/config", {"rateLimitPerSecond": 3})
    assert config["rateLimitPerSecond"] == 3
    started = time.monotonic()
    statuses = [api.call(ACCOUNT) for _ in range(4)]
    assert time.monotonic() - started < 1.0  # all four inside one window
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.headers["Retry-After"] == "1"
    body = exact_json(refused.content)
    assert set(body) == {"traceId", "errorCode", "message"}
    assert body["errorCode"] == "000"
    assert "3 calls per second" in body["message"]
    logged = api.control("GET", "/requests?limit=1")[0]
    assert (logged["status"], logged["fault"]) == (429, "rateLimit")

    time.sleep(1.05)  # the window has room again
    assert api.call(ACCOUNT).status_code == 200
    seen = api.control("GET", "/rate")
    assert seen == {"limitPerSecond": 3, "maxPerSecond": 4, "calls": 5, "rejected": 1}


def test_the_control_api_is_never_limited_and_reset_lifts_the_limit(api: SandboxClient) -> None:
    api.control("POST", "/config", {"rateLimitPerSecond": 1})
    for _ in range(5):
        api.control("GET", "/balances")
    assert api.control("GET", "/rate")["calls"] == 0
    api.control("POST", "/reset")
    assert api.control("GET", "/config")["rateLimitPerSecond"] is None
    assert all(api.call(ACCOUNT).status_code == 200 for _ in range(5))
    assert api.control("GET", "/rate")["maxPerSecond"] == 5  # measured without a limit too
    assert api.control("DELETE", "/rate")["calls"] == 0


def test_a_bad_limit_is_refused_naming_the_field(api: SandboxClient) -> None:
    for bad in (0, -1, 2.5, "10"):
        response = api.http.post("/sandbox/config", json={"rateLimitPerSecond": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"].startswith("rateLimitPerSecond:")
    api.control("POST", "/config", {"rateLimitPerSecond": None})


def test_the_window_is_sliding_and_records_the_busiest_second() -> None:
    rate = RateLimit()
    rate.set_limit(2)
    assert rate.admit(10.0) is None
    assert rate.admit(10.6) is None
    assert rate.admit(10.9) == 1  # two in (9.9, 10.9]: wait for 10.0 to leave
    assert rate.admit(11.0) is None  # 10.0 has left the window (11.0 - 1 s, 11.0]
    assert rate.admit(11.5) == 1
    # Arrivals are counted whether admitted or not: 10.6, 10.9, 11.0 and 11.5 share a second.
    assert rate.report() == {"limitPerSecond": 2, "maxPerSecond": 4, "calls": 5, "rejected": 2}
