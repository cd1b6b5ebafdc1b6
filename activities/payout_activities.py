"""The activities of the payout saga: provider calls, ledger moves and merchant callbacks.

Provider errors are mapped here, at the activity boundary: a permanent one becomes a
non-retryable `ApplicationError`, a transient one a retryable one, so Temporal's retry policy is
the only retry loop and the workflow sees a typed failure.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from temporalio import activity

from activities import other_payments
from activities import provider_endpoints as endpoints
from activities.admission import AdmissionActivities
from activities.boundary import as_application_errors
from activities.callback_outbox import DEFAULT_RETRY_BUDGET, CallbackActivities, CallbackOutbox
from activities.callback_store import CallbackStore
from activities.callback_store_sqlite import MEMORY, SqliteCallbackStore
from activities.callbacks import CallbackEvent
from activities.ledger import Ledger, LedgerEntry, ReleaseRequest, ReserveRequest, SettleRequest
from activities.mass_activities import MassActivities
from activities.other_payments import OtherPayments, OtherPaymentsInput
from activities.payout_models import (
    CancelProviderInput,
    CancelProviderResult,
    CreatePayoutInput,
    FetchPayoutInput,
    FundsCheck,
    FundsCheckInput,
    ProviderPayout,
)
from activities.policy import PolicySource
from activities.provider_endpoints import SINGLE_PAYOUT
from activities.screening import ScreeningActivities
from calypso.client import CalypsoClient
from calypso.requests import CreatePayoutRequest, FeeQuoteItem

log = structlog.get_logger()


class PayoutActivities:
    """Holds the worker's provider client, ledger and callback settings; secrets stay here."""

    def __init__(
        self,
        client: CalypsoClient,
        ledger: Ledger,
        *,
        callback_url: str | None = None,
        callback_secret: str | None = None,
        callback_store: CallbackStore | None = None,
        callback_retry: timedelta = DEFAULT_RETRY_BUDGET,
        policy: PolicySource | None = None,
    ) -> None:
        """`callback_store` keeps every callback and its attempts (the worker passes the
        PAYOUTS_CALLBACK_STORE one; without it, a private in-memory store); it is closed here.
        `policy`: the operator's policy (PAYOUTS_POLICY); None: no rules, reserve and go."""
        self._client = client
        self._ledger = ledger
        self.policy = policy or PolicySource(None)
        self.screening = ScreeningActivities()
        self.callbacks = CallbackOutbox(
            callback_store or SqliteCallbackStore(MEMORY),
            url=callback_url,
            secret=callback_secret,
            retry_budget=callback_retry,
        )

    async def close(self) -> None:
        await self.screening.close()
        await self.callbacks.close()
        await self.callbacks.store.close()

    def with_mass_payouts(self) -> list[Callable[..., Any]]:
        """Every activity of single and mass payouts, sharing this client and ledger."""
        return [
            *self.all(),
            *MassActivities(self._client, self._ledger).all(),
            *AdmissionActivities(self._ledger, self.policy).all(),
            *self.screening.all(),
        ]

    @activity.defn
    async def check_funds(self, request: FundsCheckInput) -> FundsCheck:
        with as_application_errors():
            account = await self._client.get_account()
            quote = await self._client.quote_fees(
                [FeeQuoteItem(base_amount=request.amount, currency=request.currency)]
            )
            (fee,) = quote.sender_fees(1)
        return FundsCheck(
            balance=account.balance_of(request.currency), fee=fee, needed=request.amount + fee
        )

    @activity.defn
    async def create_payout(self, request: CreatePayoutInput) -> ProviderPayout:
        """Create the payout exactly once, even after a timeout or a dropped response."""
        key = request.provider_key

        async def send() -> ProviderPayout:
            payout = await self._client.create_payout(
                CreatePayoutRequest(
                    deposit_address=request.deposit_address,
                    amount=request.amount,
                    currency=request.currency,
                    idempotency_key=key,
                    comment=request.comment,
                    external_id=request.external_id,
                )
            )
            log.info("payout.created", payout_key=str(key), provider_id=payout.id)
            return ProviderPayout.from_payout(payout)

        with as_application_errors():
            return await endpoints.create(SINGLE_PAYOUT, self._client, key, send)

    @activity.defn
    async def fetch_payout(self, request: FetchPayoutInput) -> ProviderPayout:
        with as_application_errors():
            return await endpoints.fetch(SINGLE_PAYOUT, self._client, request)

    @activity.defn
    async def cancel_provider_payout(self, request: CancelProviderInput) -> CancelProviderResult:
        with as_application_errors():
            return await endpoints.cancel(SINGLE_PAYOUT, self._client, request)

    @activity.defn
    async def find_other_payments(self, request: OtherPaymentsInput) -> OtherPayments:
        """What the provider has for these recipients besides our own attempts (before a resend)."""
        with as_application_errors():
            return await other_payments.find_other_payments(self._client, request)

    @activity.defn
    async def reserve_funds(self, request: ReserveRequest) -> LedgerEntry:
        with as_application_errors():
            return await self._ledger.reserve(request)

    @activity.defn
    async def settle_funds(self, request: SettleRequest) -> LedgerEntry:
        with as_application_errors():
            return await self._ledger.settle(request)

    @activity.defn
    async def release_funds(self, request: ReleaseRequest) -> LedgerEntry:
        with as_application_errors():
            return await self._ledger.release(request)

    @activity.defn
    async def notify_merchant(self, event: CallbackEvent) -> None:
        """One delivery attempt, recorded; the budget runs from when the saga scheduled it
        (the server's clock), and once spent the event is kept UNDELIVERED (non-retryable)."""
        info = activity.info()
        elapsed = info.current_attempt_scheduled_time - info.scheduled_time
        with as_application_errors():
            await self.callbacks.deliver(event, elapsed=elapsed)

    def all(self) -> list[Callable[..., Any]]:
        """Every activity, for the worker's registration."""
        return [
            self.check_funds,
            self.create_payout,
            self.fetch_payout,
            self.cancel_provider_payout,
            self.find_other_payments,
            self.reserve_funds,
            self.settle_funds,
            self.release_funds,
            self.notify_merchant,
            *CallbackActivities(self.callbacks).all(),
        ]
