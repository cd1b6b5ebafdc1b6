"""A minimal signed-webhook collector: verify on the raw bytes, keep the events in a queue.

Used by the first demo and by the contract tests to watch what the sandbox sends. The production
receiver (which hands events to Temporal) is a separate app.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from calypso import wire
from calypso.models import WebhookEvent
from calypso.signing import SignatureError, verify
from starter.service.asgi_runner import read_body


@dataclass
class WebhookInbox:
    """A minimal ASGI receiver: verify the signature on the raw bytes, queue the event."""

    keys: dict[str, str] = field(default_factory=dict)
    events: asyncio.Queue[WebhookEvent] = field(default_factory=asyncio.Queue)
    received: list[WebhookEvent] = field(default_factory=list)  # every accepted event, kept
    rejected: int = 0
    deliveries: int = 0
    # Answer the next delivery with this status (e.g. 500 to exercise the provider's retries).
    answer_status: int = 200

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            verify(body, headers, self.keys)
        except SignatureError:
            self.rejected += 1
            status = 401
        else:
            status = self.answer_status
            if status == 200:
                event = WebhookEvent.model_validate(wire.loads(body))
                self.received.append(event)
                self.events.put_nowait(event)
            else:
                self.answer_status = 200  # refuse once, then accept the provider's retry
            self.deliveries += 1
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
