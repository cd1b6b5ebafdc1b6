"""The first `payouts demo`: one payout's lifecycle on the embedded sandbox, webhook by webhook.

It starts the sandbox, subscribes a small local receiver to its webhooks, checks the balance,
quotes the fee, creates a payout and prints each signed webhook as it arrives until the payout
is COMPLETED. The saga issue replaces this with the Temporal workflow.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from rich.console import Console

from activities.client import CalypsoClient, CalypsoCredentials
from activities.models import (
    CreatePayoutRequest,
    CreateWebhookSubscriptionRequest,
    FeeQuoteItem,
)
from sandbox.server import running_sandbox
from sandbox.settings import SandboxSettings

from .asgi_runner import serve_in_background
from .webhook_inbox import WebhookInbox

DEMO_CURRENCY = "USDT_TRX"
DEMO_AMOUNT = Decimal("25.50")
DEMO_ADDRESS = "TJRyWwFs9wTFGZg3JbrVriFbNfCug5tDeC"
LIFECYCLE_DEADLINE_SECONDS = 60.0


async def run_demo(console: Console) -> int:
    sandbox_settings = SandboxSettings(step_delay_seconds=0.4)
    with running_sandbox(sandbox_settings) as sandbox:
        inbox = WebhookInbox()
        async with serve_in_background(inbox) as receiver_url:
            credentials = CalypsoCredentials(
                account=sandbox_settings.account,
                api_key=sandbox_settings.api_key,
                api_secret=sandbox_settings.api_secret,
            )
            async with CalypsoClient(sandbox.url, credentials) as client:
                return await _lifecycle(console, client, inbox, sandbox.url, receiver_url)


async def _lifecycle(
    console: Console, client: CalypsoClient, inbox: WebhookInbox, sandbox_url: str, receiver: str
) -> int:
    console.rule("Calypso Pay sandbox: one payout, end to end")
    console.print(f"sandbox   {sandbox_url}\nreceiver  {receiver}/webhooks/calypso")

    subscription = await client.create_webhook_subscription(
        CreateWebhookSubscriptionRequest(
            request_id=uuid.uuid4(),
            notification_service_types=["PAYOUT"],
            url=f"{receiver}/webhooks/calypso",
        )
    )
    assert subscription.public_key and subscription.secret_key
    inbox.keys[subscription.public_key] = subscription.secret_key
    console.print(f"subscribed to PAYOUT webhooks with key {subscription.public_key}")

    account = await client.get_account()
    balance = account.balance_of(DEMO_CURRENCY)
    console.print(f"balance   {balance} {DEMO_CURRENCY}")
    quote = (
        await client.quote_fees([FeeQuoteItem(base_amount=DEMO_AMOUNT, currency=DEMO_CURRENCY)])
    ).items[0]
    fee = quote.fee_sender.fee if quote.fee_sender else Decimal(0)
    console.print(f"fee quote {fee} {DEMO_CURRENCY} on {DEMO_AMOUNT} (paid on top by the sender)")

    key = uuid.uuid4()
    payout = await client.create_payout(
        CreatePayoutRequest(
            deposit_address=DEMO_ADDRESS,
            amount=DEMO_AMOUNT,
            currency=DEMO_CURRENCY,
            idempotency_key=key,
            comment="first demo payout",
        )
    )
    console.print(f"created payout {payout.id} (idempotencyKey {key}) in state {payout.state}")

    try:
        async with asyncio.timeout(LIFECYCLE_DEADLINE_SECONDS):
            while True:
                event = await inbox.events.get()
                detail = f" hash={event.hash}" if event.hash else ""
                console.print(
                    f"  webhook [bold]{event.type}[/] {event.payout_status}{detail}  (signature ok)"
                )
                if event.payout_status == "COMPLETED" and event.parent_external_id == payout.id:
                    break
    except TimeoutError:
        console.print(f"[red]no COMPLETED webhook within {LIFECYCLE_DEADLINE_SECONDS:.0f}s[/]")
        return 1

    final = await client.get_payout(id=payout.id)
    after = (await client.get_account()).balance_of(DEMO_CURRENCY)
    console.print(
        f"confirmed through the API: {final.state}, fee {final.fee}, tx {final.transaction_hash}\n"
        f"balance   {after} {DEMO_CURRENCY} (was {balance}: amount + fee = {balance - after})"
    )
    if inbox.rejected:
        console.print(f"[red]{inbox.rejected} webhook(s) failed signature verification[/]")
        return 1
    return 0 if final.state == "COMPLETED" and balance - after == DEMO_AMOUNT + fee else 1
