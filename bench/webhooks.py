"""Webhooks: how fast the receiver answers beside a bare endpoint, and how soon a webhook's news
is visible in a running saga's `status` query.

1. Throughput: the same load tool (one httpx client, 32 requests in flight) POSTs signed
   webhooks to the receiver and to a bare endpoint of the same ASGI server (uvicorn + FastAPI)
   that only answers 200. The receiver's load is the provider's mix for payouts that are running:
   the six events the sandbox sends per payout, each sent twice (the provider retries and
   duplicates). The ratio of requests per second is the figure.
2. Latency, through the system as deployed (`bench/deployment.py`: the receiver, the worker and
   the sandbox each in its own process): 500 running sagas (created at a provider that then
   takes an hour per step); the 450 not used by the mix get one signed `PAYOUT_HASH_RECEIVED`
   each, 350 sent at 100 per second (the target's load), then 100 at 20 per second (the floor);
   for each, the time from the POST leaving the load tool (on loopback, its arrival at the
   receiver) to the new hash showing in the saga's `status` query. The probe does not poll: once
   the POST has answered 200 (the receiver has signalled the saga), it asks `status` once;
   Temporal answers a query only after the workflow task the signal caused, so that one answer
   normally shows the hash. Only when it does not is `status` asked again, after 10 ms, then
   doubling to at most 200 ms between asks; how many webhooks needed more than one ask is
   reported beside p50, p95, p99 and the maximum.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI, Response

from activities.ledger import SqliteLedger
from bench.deployment import deployment
from calypso import wire
from calypso.signing import sign
from starter.api.payouts import PayoutRequest, Payouts
from starter.service.asgi_runner import serve_in_background
from starter.service.webhook_receiver import create_receiver_app
from workflows.payout_models import PayoutStatus, SagaState

PUBLIC, SECRET = "bench-webhooks", "bench-webhooks-secret"
TRON = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
IN_FLIGHT = 32
MIXED = 50  # sagas the throughput mix is about
# (webhooks per second, sagas) of the latency runs: the target's load, and a light one that
# shows the floor of the same path.
RATES = ((100.0, 350), (20.0, 100))
SAGAS = MIXED + sum(sagas for _, sagas in RATES)
FIRST_WAIT, MAX_WAIT = 0.010, 0.200  # seconds between `status` asks when the first misses
GIVE_UP = 30.0  # seconds: a hash not visible by then fails the bench


def signed(event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = wire.dumps(event)
    return body, {"Key": PUBLIC, "Sign": sign(body, SECRET), "Content-Type": "application/json"}


def provider_mix(key: uuid.UUID, provider_id: str) -> list[dict[str, Any]]:
    """What the sandbox sends for one payout on its way, each event twice (the last one a
    repeat of IN_PROGRESS where the sandbox would say COMPLETED: the saga keeps running)."""
    base = {"parentExternalId": provider_id, "idempotencyKey": str(key), "currency": "USDT_TRX"}
    steps = [
        {"type": "PAYOUT_CHANGE_STATUS", "payoutStatus": "CREATED"},
        {"type": "PAYOUT_CHANGE_STATUS", "payoutStatus": "CONFIRMED"},
        {"type": "PAYOUT_CONFIRMED", "payoutStatus": "CONFIRMED"},
        {"type": "PAYOUT_CHANGE_STATUS", "payoutStatus": "IN_PROGRESS"},
        {"type": "PAYOUT_HASH_RECEIVED", "payoutStatus": "IN_PROGRESS", "hash": f"0x{key.hex}"},
        {"type": "PAYOUT_CHANGE_STATUS", "payoutStatus": "IN_PROGRESS"},
    ]
    return [{**base, **step} for step in steps for _ in range(2)]


async def _load(url: str, bodies: list[tuple[bytes, dict[str, str]]]) -> float:
    """Requests per second for POSTing every body, IN_FLIGHT at a time; all must answer 200."""
    queue = list(reversed(bodies))
    async with httpx.AsyncClient(timeout=30) as http:

        async def worker() -> None:
            while queue:
                body, headers = queue.pop()
                answer = await http.post(url, content=body, headers=headers)
                assert answer.status_code == 200, answer.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return len(bodies) / (time.perf_counter() - started)


def _bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/calypso")
    async def answer() -> Response:
        return Response(content=b'{"status":"ok"}', media_type="application/json")

    return app


async def _running_sagas(payouts: Payouts, count: int) -> list[uuid.UUID]:
    keys = await asyncio.gather(
        *(
            payouts.start(
                PayoutRequest(deposit_address=TRON, amount=Decimal(1), currency="USDT_TRX")
            )
            for _ in range(count)
        )
    )
    for key in keys:  # created at the provider: following it
        while (await _status(payouts, key)).state != SagaState.SUBMITTED:
            await asyncio.sleep(0.05)
    return list(keys)


async def _status(payouts: Payouts, key: uuid.UUID) -> PayoutStatus:
    status = await payouts.status(key)
    assert isinstance(status, PayoutStatus)
    return status


async def _visible(payouts: Payouts, key: uuid.UUID, tx_hash: str) -> int:
    """How many `status` asks it took to see `tx_hash`: one, unless the first answer predates
    the signal's workflow task; then asked again with a doubling wait."""
    asks, wait = 1, FIRST_WAIT
    deadline = time.perf_counter() + GIVE_UP
    while (await _status(payouts, key)).tx_hash != tx_hash:
        assert time.perf_counter() < deadline, f"{tx_hash} not visible after {GIVE_UP:.0f} s"
        await asyncio.sleep(wait)
        asks, wait = asks + 1, min(wait * 2, MAX_WAIT)
    return asks


async def _latencies(
    url: str, payouts: Payouts, ids: dict[uuid.UUID, str], rate: float
) -> list[tuple[float, float, int]]:
    """(seconds from the POST to the hash in `status`, of them until the receiver's 200, `status`
    asks it took) per webhook, the webhooks sent at `rate` per second."""
    async with httpx.AsyncClient(timeout=30) as http:

        async def one(key: uuid.UUID, provider_id: str) -> tuple[float, float, int]:
            tx_hash = f"0x{uuid.uuid4().hex}"
            body, headers = signed(
                {
                    "type": "PAYOUT_HASH_RECEIVED",
                    "parentExternalId": provider_id,
                    "payoutStatus": "IN_PROGRESS",
                    "hash": tx_hash,
                    "idempotencyKey": str(key),
                }
            )
            started = time.perf_counter()
            answer = await http.post(url, content=body, headers=headers)
            assert answer.status_code == 200, answer.text
            answered = time.perf_counter() - started
            asks = await _visible(payouts, key, tx_hash)
            return time.perf_counter() - started, answered, asks

        tasks = []
        begin = time.perf_counter()
        for n, (key, provider_id) in enumerate(ids.items()):
            await asyncio.sleep(max(0.0, begin + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(key, provider_id)))
        return list(await asyncio.gather(*tasks))


async def _measure() -> dict[str, str]:
    # A provider that takes an hour per step, and no polls: the sagas stay SUBMITTED throughout.
    async with deployment(
        step_delay_seconds=3600.0,
        settings={"PAYOUTS_POLL_INTERVAL": "3600"},
        extra_keys=f"{PUBLIC}:{SECRET}",
    ) as deployed:
        ledger = SqliteLedger(deployed.settings.ledger_path)
        await ledger.fund("default", "USDT_TRX", Decimal(1_000_000))
        await ledger.close()
        payouts = Payouts(deployed.client, deployed.settings)
        keys = await _running_sagas(payouts, SAGAS)
        ids = {key: (await _status(payouts, key)).provider_id or "" for key in keys}
        # The mix goes to the first MIXED sagas, the latency runs' hashes to the others.
        mixed = list(ids.items())[:50]
        mix = [signed(event) for key, pid in mixed for event in provider_mix(key, pid)]
        # Receiver and bare endpoint side by side in this process, on the same load tool.
        receiver = create_receiver_app(deployed.client, {PUBLIC: SECRET})
        async with (
            serve_in_background(receiver) as receiver_url,
            serve_in_background(_bare_app()) as bare_url,
        ):
            bare = [await _load(f"{bare_url}/webhooks/calypso", mix) for _ in range(3)]
            ours = [await _load(f"{receiver_url}/webhooks/calypso", mix) for _ in range(3)]
        # The latency through the deployed receiver and worker, each in its own process.
        fresh, runs = list(ids.items())[MIXED:], []
        for rate, count in RATES:
            sagas, fresh = dict(fresh[:count]), fresh[count:]
            url = f"{deployed.receiver_url}/webhooks/calypso"
            runs.append(_latency_figures(rate, await _latencies(url, payouts, sagas, rate)))
    bare_rate, our_rate = statistics.median(bare), statistics.median(ours)
    return {
        "benchmark": "webhook receiver beside a bare endpoint; webhook to visible saga state",
        "baseline": f"bare uvicorn/FastAPI endpoint answering 200: {bare_rate:.0f} requests/s",
        "measured": f"receiver: {our_rate:.0f} requests/s on the provider's mix "
        f"({len(mix)} webhooks: six per payout, each twice); webhook to status " + "; ".join(runs),
        "ratio": f"{our_rate / bare_rate:.2f}x the bare endpoint's requests/s",
        "method": f"one httpx client, {IN_FLIGHT} in flight, median of 3 runs each; latency from "
        "the POST leaving the load tool to the status query showing the new hash: one status "
        "query once the POST has answered 200 (Temporal answers it after the workflow task the "
        "signal caused), asked again only if the hash is not there yet, after "
        f"{FIRST_WAIT * 1000:.0f} ms doubling to at most {MAX_WAIT * 1000:.0f} ms: about one "
        "query per webhook, no polling load on the worker being measured",
    }


def _latency_figures(rate: float, probes: list[tuple[float, float, int]]) -> str:
    latencies = [seconds * 1000 for seconds, _, _ in probes]
    answers = [seconds * 1000 for _, seconds, _ in probes]
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")  # never beyond the max
    answer_p99 = statistics.quantiles(answers, n=100, method="inclusive")[98]
    again = sum(1 for _, _, asks in probes if asks > 1)
    return (
        f"at {rate:.0f}/s to {len(probes)} running sagas: p50 {statistics.median(latencies):.0f} "
        f"ms, p95 {cuts[94]:.0f} ms, p99 {cuts[98]:.0f} ms, max {max(latencies):.0f} ms (of "
        f"which the receiver's 200: p50 {statistics.median(answers):.0f} ms, p99 "
        f"{answer_p99:.0f} ms), {again} needed more than one status query"
    )


def run() -> dict[str, str]:
    return asyncio.run(_measure())


if __name__ == "__main__":
    from bench.figures import run_alone

    run_alone(run)
