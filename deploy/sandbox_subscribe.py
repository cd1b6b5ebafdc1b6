"""docker-compose (sandbox only): subscribe the webhook receiver to the sandbox's payout webhooks
and write the subscription's `publicKey:secretKey` where the receiver reads CALYPSO_WEBHOOK_KEYS.

With the real provider, create the subscription once (Calypso's dashboard or API) and put its key
pair in deploy/payouts.env instead: see README, Docker.

    python sandbox_subscribe.py <receiver URL> <key file>
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path

from calypso.client import CalypsoClient
from calypso.requests import CreateWebhookSubscriptionRequest
from starter.service.settings import Settings


async def subscribe(receiver_url: str) -> str:
    """The new subscription's `publicKey:secretKey`."""
    settings = Settings.from_env()
    async with CalypsoClient(settings.calypso_api_url, settings.credentials) as calypso:
        subscription = await calypso.create_webhook_subscription(
            CreateWebhookSubscriptionRequest(request_id=uuid.uuid4(), url=receiver_url)
        )
    if not (subscription.public_key and subscription.secret_key):
        sys.exit("sandbox_subscribe: the subscription came back without a key pair")
    print(f"subscribed {receiver_url} with key {subscription.public_key}")
    return f"{subscription.public_key}:{subscription.secret_key}"


if __name__ == "__main__":
    key_file = Path(sys.argv[2])
    pair = asyncio.run(subscribe(sys.argv[1]))
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(pair + "\n")
