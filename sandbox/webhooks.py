"""Signed webhook delivery with the provider's retry schedule and the webhook faults.

Each subscription has a queue worker so first attempts leave in emission order; a failed
delivery is handed to its own retry task, so one broken event never holds back the next
(which is exactly how real deliveries end up out of order)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import structlog

from sandbox.clock import iso_utc
from sandbox.jsonwire import dumps_exact
from sandbox.records import Deal, EventType, Subscription
from sandbox.state import SandboxState
from sandbox.webhook_delivery import (
    DELIVERY_TIMEOUT_SECONDS,
    RETRY_DELAYS_SECONDS,
    Delivery,
    attempt_delivery,
    record_attempt,
)

log = structlog.get_logger("sandbox.webhooks")


class WebhookSender:
    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._client: httpx.AsyncClient | None = None
        self._queues: dict[str, asyncio.Queue[list[Delivery]]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._retries: set[asyncio.Task[None]] = set()
        self._held: dict[str, list[dict[str, Any]]] = {}

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_SECONDS)

    async def stop(self) -> None:
        tasks = self._cancel_all()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def reset(self) -> None:
        self._cancel_all()
        self._held.clear()

    def forget(self, request_id: str) -> None:
        """Stop delivering to a deleted subscription (its retries notice on their own)."""
        task = self._tasks.pop(request_id, None)
        self._queues.pop(request_id, None)
        if task is not None:
            task.cancel()

    def _cancel_all(self) -> list[asyncio.Task[None]]:
        tasks = [*self._tasks.values(), *self._retries]
        for task in tasks:
            task.cancel()
        self._tasks.clear()
        self._queues.clear()
        self._retries.clear()
        return tasks

    # --- emission ----------------------------------------------------------------------
    def emit(self, deal: Deal, event_type: EventType, tx_hash: str | None = None) -> None:
        event = {
            "type": event_type.value,
            "parentExternalId": deal.id,
            "payoutStatus": deal.state.value,
            "hash": tx_hash if tx_hash is not None else deal.transaction_hash,
            "createdDate": iso_utc(deal.created_at),
            "idempotencyKey": deal.idempotency_key,
            "currency": deal.currency.code,
            "externalId": deal.external_id,
        }
        faults = self._state.faults
        if faults.take_webhook_drop():
            for sub in self._subscribers(deal.account, event):
                record_attempt(self._state.webhook_log, sub, event, attempt=0, outcome="dropped")
            log.info("sandbox.webhook.dropped", type=event["type"], payout_id=deal.id)
            return
        if faults.plan.webhook_reorder:
            self._held.setdefault(deal.id, []).append(event)
            return
        self._dispatch(deal.account, event)

    def deal_finished(self, deal: Deal) -> None:
        """A payout reached a terminal state: release its held batch, newest event first."""
        for event in reversed(self._held.pop(deal.id, [])):
            self._dispatch(deal.account, event)

    def release_held(self) -> int:
        """Deliver every held batch now (used when the reorder fault is switched off)."""
        batches = list(self._held.items())
        self._held.clear()
        released = 0
        for deal_id, events in batches:
            deal = self._state.deals.get(deal_id)
            if deal is None:  # forgotten by a reset meanwhile
                continue
            for event in reversed(events):
                self._dispatch(deal.account, event)
            released += len(events)
        return released

    def _subscribers(self, account: str, event: dict[str, Any]) -> list[Subscription]:
        event_type = EventType(event["type"])
        return [
            sub
            for sub in self._state.subscriptions.values()
            if sub.account == account and sub.wants(event_type)
        ]

    def _dispatch(self, account: str, event: dict[str, Any]) -> None:
        body = dumps_exact(event)
        plan = self._state.faults.plan
        not_before = asyncio.get_running_loop().time() + plan.webhook_delay_ms / 1000
        copies = 2 if plan.webhook_duplicate else 1
        for sub in self._subscribers(account, event):
            # Duplicates leave together, the way a provider's double send usually arrives.
            batch = [Delivery(sub, event, body, not_before, duplicate=n > 0) for n in range(copies)]
            self._queue_for(sub).put_nowait(batch)

    def _queue_for(self, sub: Subscription) -> asyncio.Queue[list[Delivery]]:
        queue = self._queues.get(sub.request_id)
        if queue is None:
            queue = self._queues[sub.request_id] = asyncio.Queue()
            self._tasks[sub.request_id] = asyncio.create_task(self._work(queue))
        return queue

    # --- delivery ----------------------------------------------------------------------
    async def _work(self, queue: asyncio.Queue[list[Delivery]]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await queue.get()
            try:
                wait = batch[0].not_before - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                await asyncio.gather(*(self._first_attempt(delivery) for delivery in batch))
            except Exception:  # one bad delivery must not stop the subscription's worker
                log.exception("sandbox.webhook.worker_error", url=batch[0].subscription.url)

    async def _first_attempt(self, delivery: Delivery) -> None:
        if not await self._attempt(delivery, 1):
            task = asyncio.create_task(self._retry(delivery))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)

    async def _retry(self, delivery: Delivery) -> None:
        try:
            for attempt, delay in enumerate(RETRY_DELAYS_SECONDS, start=2):
                await asyncio.sleep(delay * self._state.config.webhook_time_scale)
                if delivery.subscription.request_id not in self._state.subscriptions:
                    return
                if await self._attempt(delivery, attempt):
                    return
            log.warning("sandbox.webhook.gave_up", url=delivery.subscription.url)
        except Exception:  # nobody awaits this task: log rather than lose the error
            log.exception("sandbox.webhook.retry_error", url=delivery.subscription.url)

    async def _attempt(self, delivery: Delivery, attempt: int) -> bool:
        if self._client is None:
            raise RuntimeError("WebhookSender.start() was not awaited")
        return await attempt_delivery(self._client, delivery, attempt, self._state.webhook_log)
