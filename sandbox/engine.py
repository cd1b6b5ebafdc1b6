"""The background side of the sandbox: one scheduler loop that moves payouts forward.

One loop (not a task per payout) so that reset and shutdown have a single thing to stop,
and so an exception in one payout's step is logged and retried without killing the rest."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from sandbox.errors import ApiError, ErrorCode
from sandbox.lifecycle import Lifecycle
from sandbox.records import CANCELLABLE_STATES, Cancellation, Deal, PayoutState, WithdrawalState
from sandbox.state import SandboxState
from sandbox.webhooks import WebhookSender

log = structlog.get_logger("sandbox.engine")

RETRY_AFTER_ERROR_SECONDS = 1.0


class NotPendingConfirmation(ValueError):
    """Raised when confirm/decline targets a payout that is not waiting for a confirmation."""


class PayoutEngine:
    def __init__(self, state: SandboxState, webhooks: WebhookSender) -> None:
        self._state = state
        self._lifecycle = Lifecycle(state, webhooks)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sandbox-payout-engine")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    # --- operations requested through the API or the control API -----------------------
    def admit(self, deal: Deal) -> None:
        """Store a freshly created payout and start its life."""
        self._state.add_deal(deal)
        log.info("sandbox.payout.created", payout_id=deal.id, kind=deal.kind, state=deal.state)
        self._lifecycle.move(deal, deal.state)
        self._schedule_soon(deal)

    def cancel(self, deal: Deal, message: str | None) -> None:
        if deal.state not in CANCELLABLE_STATES:
            raise ApiError(
                ErrorCode.INVALID_STATE,
                f"payout {deal.id} is {deal.state.value} and can no longer be canceled "
                f"(allowed in {', '.join(sorted(s.value for s in CANCELLABLE_STATES))})",
            )
        self._stop(deal, Cancellation(message=message, by_user_id="api"))

    def confirm(self, deal: Deal) -> None:
        self._require_pending(deal)
        self._lifecycle.move(deal, PayoutState.CONFIRMED)
        self._schedule_soon(deal)

    def decline(self, deal: Deal, message: str | None) -> None:
        self._require_pending(deal)
        self._stop(deal, Cancellation(message=message, by_user_id="sandbox-verification"))

    def force(self, deal: Deal, new_state: PayoutState) -> None:
        """Put the payout in `new_state` now, as the provider's back office could (control API:
        a reversal, a late completion); its withdrawals have been set by the caller."""
        self._lifecycle.move(deal, new_state)
        log.info("sandbox.payout.forced", payout_id=deal.id, state=new_state)
        self.wake()

    def recheck_holds(self) -> None:
        """The virtual clock jumped: look at every held payout again right away."""
        now = asyncio.get_running_loop().time()
        for deal in self._state.scheduled_deals():
            if deal.state is PayoutState.CONFIRMED:
                self._state.schedule(deal, now)
        self.wake()

    def _require_pending(self, deal: Deal) -> None:
        if deal.state is not PayoutState.PENDING_CONFIRMATION:
            raise NotPendingConfirmation(f"payout {deal.id} is {deal.state.value}, not pending")

    def _stop(self, deal: Deal, cancellation: Cancellation) -> None:
        deal.cancellation = cancellation
        for item in deal.withdrawals:
            item.state = WithdrawalState.CANCELED
        self._lifecycle.move(deal, PayoutState.CANCELED)
        log.info("sandbox.payout.canceled", payout_id=deal.id, by=cancellation.by_user_id)

    def _schedule_soon(self, deal: Deal) -> None:
        now = asyncio.get_running_loop().time()
        self._state.schedule(deal, now + self._state.config.step_delay_seconds)
        self.wake()

    # --- the loop ----------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()  # before stepping, so a wake during the pass is not lost
            now = loop.time()
            for deal in self._state.scheduled_deals():
                if deal.next_step_at is None or deal.next_step_at > now:
                    continue
                try:
                    self._lifecycle.step(deal, now)
                except Exception:
                    log.exception("sandbox.engine.step_failed", payout_id=deal.id)
                    self._state.schedule(deal, now + RETRY_AFTER_ERROR_SECONDS)
            upcoming = [d.next_step_at for d in self._state.scheduled_deals()]
            due = min((at for at in upcoming if at is not None), default=None)
            timeout = None if due is None else max(0.0, due - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
