"""The webhook receiver: `POST /webhooks/calypso` → a signal to the payout saga it concerns.

200 once the event is safely handed to Temporal (or when the payout is not one of ours: it is
logged, not an error, so the provider stops retrying); 401 on a bad or unknown signature; 400 on a
malformed body; 503 when Temporal is unreachable, so that the provider retries later.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import structlog
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from calypso import wire
from calypso.models import WebhookEvent
from calypso.signing import SignatureError, verify
from workflows.keys import PROVIDER_EVENT_SIGNAL, saga_workflow_ids
from workflows.payout_models import ProviderEvent

log = structlog.get_logger()
# Not found, or found but already closed: either way, not a saga that can take the event.
_NO_SUCH_SAGA = (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION)


def create_receiver_app(client: Client, keys: Mapping[str, str]) -> FastAPI:
    """The receiver app; `keys` maps each accepted publicKey to its secretKey (rotation)."""
    app = FastAPI(title="Calypso payout webhooks", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/webhooks/calypso")
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            public_key = verify(body, request.headers, keys)
        except SignatureError as exc:
            log.warning("webhook.rejected", reason=str(exc))
            return _answer(401, str(exc))
        try:
            event = WebhookEvent.model_validate(wire.loads(body))
            provider_key = uuid.UUID(event.idempotency_key) if event.idempotency_key else None
        except (ValueError, ValidationError) as exc:
            log.warning("webhook.malformed", reason=str(exc)[:200])
            return _answer(400, "malformed webhook body")
        bound = log.bind(event_type=event.type, payout_key=event.idempotency_key, key=public_key)
        if provider_key is None:
            bound.info("webhook.unrouted", reason="no idempotencyKey")
            return _answer(200, "not ours")
        try:
            workflow_id = await _signal_saga(client, provider_key, event)
        except (RPCError, RuntimeError) as exc:  # RuntimeError: a lazy client failing to connect
            bound.error("webhook.temporal_unavailable", error=str(exc))
            return _answer(503, "Temporal is unreachable; retry later")
        if workflow_id is None:
            bound.info("webhook.unrouted", reason="no saga for this key")
            return _answer(200, "not ours")
        bound.info("webhook.delivered", workflow_id=workflow_id)
        return _answer(200, "ok")

    return app


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
