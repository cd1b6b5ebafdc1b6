"""The webhook receiver: `POST /webhooks/calypso` → a signal to the payout saga it concerns.

200 once the event is safely handed to Temporal (or when the payout is not one of ours: it is
logged, not an error, so the provider stops retrying); 401 on a bad or unknown signature; 400 on a
malformed body; 503 when Temporal is unreachable, so that the provider retries later.
Counted on the meter of the client's runtime (received, rejected by reason, delivered, unrouted:
docs/observability.md), each request in a server span.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import structlog
from fastapi import FastAPI, Request, Response
from opentelemetry import trace
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode

from calypso import wire
from calypso.models import WebhookEvent
from calypso.signing import SignatureError, verify
from starter.service.webhook_news import RecentDeliveries, skip_reason
from workflows.keys import PROVIDER_EVENT_SIGNAL, saga_workflow_ids
from workflows.payout_models import ProviderEvent

log = structlog.get_logger()
# Not found, or found but already closed: either way, not a saga that can take the event.
_NO_SUCH_SAGA = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)
_TRACER_NAME = "payouts.webhooks"  # looked up per request: a no-op until a provider is installed


class ReceiverMetrics:
    """The receiver's counters, on the meter of its client's runtime (no-op without
    PAYOUTS_METRICS_PORT)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._received = meter.create_counter("payouts_webhooks_received", "Webhooks received")
        self._rejected = meter.create_counter("payouts_webhooks_rejected", "Webhooks refused")
        self._delivered = meter.create_counter(
            "payouts_webhooks_delivered", "Webhooks handed to their saga as a signal"
        )
        self._unrouted = meter.create_counter(
            "payouts_webhooks_unrouted", "Webhooks answered 200 with no saga of ours to take them"
        )
        self._skipped = meter.create_counter(
            "payouts_webhooks_skipped",
            "Webhooks answered 200 without a signal: progress a saga needs nothing from, or an "
            "exact copy of one just delivered",
        )

    @classmethod
    def of(cls, client: Client) -> ReceiverMetrics:
        runtime = client.service_client.config.runtime or Runtime.default()
        return cls(runtime.metric_meter)

    def received(self) -> None:
        self._received.add(1)

    def rejected(self, reason: str) -> None:
        self._rejected.add(1, {"reason": reason})

    def delivered(self, event_type: str) -> None:
        self._delivered.add(1, {"type": event_type})

    def unrouted(self, reason: str) -> None:
        self._unrouted.add(1, {"reason": reason})

    def skipped(self, reason: str) -> None:
        self._skipped.add(1, {"reason": reason})


def create_receiver_app(
    client: Client, keys: Mapping[str, str], *, forward: str = "news"
) -> FastAPI:
    """The receiver app; `keys` maps each accepted publicKey to its secretKey (rotation);
    `forward`: `news` signals only the webhooks a saga acts on (`webhook_news.py`), `all` every
    one."""
    app = FastAPI(title="Calypso payout webhooks", docs_url=None, redoc_url=None)
    metrics = ReceiverMetrics.of(client)
    recent = RecentDeliveries() if forward == "news" else None

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/calypso")
    async def receive(request: Request) -> Response:
        with trace.get_tracer(_TRACER_NAME).start_as_current_span(
            "POST /webhooks/calypso", kind=trace.SpanKind.SERVER
        ) as span:
            metrics.received()
            answer = await _receive(client, keys, metrics, recent, await request.body(), request)
            span.set_attribute("http.response.status_code", answer.status_code)
            return answer

    return app


async def _receive(
    client: Client,
    keys: Mapping[str, str],
    metrics: ReceiverMetrics,
    recent: RecentDeliveries | None,
    body: bytes,
    request: Request,
) -> Response:
    try:
        public_key = verify(body, request.headers, keys)
    except SignatureError as exc:
        log.warning("webhook.rejected", reason=str(exc))
        metrics.rejected("bad_signature")
        return _answer(401, str(exc))
    try:
        event = WebhookEvent.model_validate(wire.loads(body))
        provider_key = uuid.UUID(event.idempotency_key) if event.idempotency_key else None
    except (ValueError, ValidationError) as exc:
        log.warning("webhook.malformed", reason=str(exc)[:200])
        metrics.rejected("malformed")
        return _answer(400, "malformed webhook body")
    bound = log.bind(event_type=event.type, payout_key=event.idempotency_key, key=public_key)
    if provider_key is None:
        bound.info("webhook.unrouted", reason="no idempotencyKey")
        metrics.unrouted("no_idempotency_key")
        return _answer(200, "not ours")
    if recent is not None:  # only what the saga acts on (webhook_news.py)
        skipped = skip_reason(event) or ("duplicate" if recent.seen(body) else None)
        if skipped is not None:
            bound.info("webhook.skipped", reason=skipped, status=event.payout_status)
            metrics.skipped(skipped)
            return _answer(200, "ok")
    try:
        workflow_id = await _signal_saga(client, provider_key, event)
    except (RPCError, RuntimeError) as exc:  # RuntimeError: a lazy client failing to connect
        bound.error("webhook.temporal_unavailable", error=str(exc))
        metrics.rejected("temporal_unavailable")
        return _answer(503, "Temporal is unreachable; retry later")
    if workflow_id is None:
        bound.info("webhook.unrouted", reason="no saga for this key")
        metrics.unrouted("no_saga")
        return _answer(200, "not ours")
    bound.info("webhook.delivered", workflow_id=workflow_id)
    metrics.delivered(str(event.type))
    if recent is not None:
        recent.delivered(body)
    return _answer(200, "ok")


async def _signal_saga(client: Client, provider_key: uuid.UUID, event: WebhookEvent) -> str | None:
    """Signal the saga (single payout or mass deal) that sent `provider_key`; None if none did."""
    signal = ProviderEvent(
        type=event.type,
        provider_key=provider_key,
        provider_id=event.parent_external_id,
        status=event.payout_status,
        tx_hash=event.hash,
        occurred_at=event.created_date,
    )
    for workflow_id in saga_workflow_ids(provider_key):
        try:
            await client.get_workflow_handle(workflow_id).signal(PROVIDER_EVENT_SIGNAL, signal)
        except RPCError as exc:
            if exc.status in _NO_SUCH_SAGA:
                continue
            raise
        return workflow_id
    return None


def _answer(status: int, message: str) -> Response:
    return Response(
        content=wire.dumps({"status": message}), status_code=status, media_type="application/json"
    )
