"""The provider's rate limit on our side: `Retry-After` read into the error, the boundary making
Temporal wait that long, the per-process pacer, and the PAYOUTS_PROVIDER_RATE setting."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from temporalio.exceptions import ApplicationError

from activities.boundary import as_application_errors
from calypso.client import CalypsoClient, CalypsoCredentials
from calypso.errors import BadRequestError, ServerError
from calypso.pacing import CallPacer, retry_after_seconds
from starter.service.settings import Settings, SettingsError

CREDENTIALS = CalypsoCredentials(account="acc-1", api_key="pub", api_secret="sec")
NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
ERROR_BODY = b'{"traceId":"t-1","errorCode":"000","message":"slow down"}'


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        (" 2 ", 2.0),
        ("0.5", 0.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),  # an HTTP date, 30 s after NOW
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # already past
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header, now=NOW) == seconds


def client_answering(status: int, headers: dict[str, str]) -> CalypsoClient:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=ERROR_BODY, headers=headers)

    return CalypsoClient(
        "http://provider", CREDENTIALS, transport=httpx.MockTransport(handler), clock=lambda: NOW
    )


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "3"}, 3.0),
        (429, {}, None),
        (503, {"Retry-After": "Tue, 14 Nov 2023 22:14:20 GMT"}, 60.0),
        (500, {}, None),
    ],
)
async def test_the_client_reads_retry_after_into_the_server_error(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    async with client_answering(status, headers) as client:
        with pytest.raises(ServerError) as raised:
            await client.get_account()
    assert raised.value.retry_after == retry_after
    assert raised.value.http_status == status


async def test_a_permanent_error_ignores_retry_after() -> None:
    body = b'{"traceId":"t","errorCode":"001","message":"payload.amount: bad"}'

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(400, content=body, headers={"Retry-After": "5"})

    async with CalypsoClient(
        "http://provider", CREDENTIALS, transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(BadRequestError) as raised:
            await client.get_account()
    assert not hasattr(raised.value, "retry_after")


def boundary_failure(error: Exception) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised, as_application_errors():
        raise error
    return raised.value


def test_the_boundary_makes_temporal_wait_what_the_provider_asked() -> None:
    limited = ServerError("rate limit exceeded", code="000", http_status=429)
    limited.retry_after = 2.5
    failure = boundary_failure(limited)
    assert failure.next_retry_delay == timedelta(seconds=2.5)
    assert failure.non_retryable is False
    assert failure.type == "ServerError"


def test_without_retry_after_the_retry_policy_decides() -> None:
    assert boundary_failure(ServerError("boom", http_status=500)).next_retry_delay is None
    refused = boundary_failure(BadRequestError("payload.amount: bad", code="001"))
    assert refused.next_retry_delay is None
    assert refused.non_retryable is True


async def test_the_pacer_spaces_calls_in_arrival_order() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    pacer = CallPacer(4, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        await pacer.wait_turn()  # all three ask at once: 0, 0.25 and 0.5 s later
    now[0] = 101.0  # idle long enough: no wait
    await pacer.wait_turn()
    assert slept == [0.25, 0.5]


async def test_the_client_paces_its_calls() -> None:
    sent: list[float] = []
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    def handler(_: httpx.Request) -> httpx.Response:
        sent.append(now[0])
        return httpx.Response(200, content=b'{"account":"acc-1","balances":[]}')

    async with CalypsoClient(
        "http://provider", CREDENTIALS, transport=httpx.MockTransport(handler), calls_per_second=2
    ) as client:
        client._pacer = CallPacer(2, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(3):
            await client.get_account()
    assert sent == [0.0, 0.5, 1.0]


def test_the_provider_rate_setting() -> None:
    assert Settings.from_env({}).provider_rate is None
    assert Settings.from_env({"PAYOUTS_PROVIDER_RATE": " 20 "}).provider_rate == 20.0
    assert Settings.from_env({"PAYOUTS_PROVIDER_RATE": "0.5"}).provider_rate == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "fast", "inf", "nan"])
def test_a_bad_provider_rate_names_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^PAYOUTS_PROVIDER_RATE: ") as raised:
        Settings.from_env({"PAYOUTS_PROVIDER_RATE": value})
    assert "\n" not in str(raised.value)
