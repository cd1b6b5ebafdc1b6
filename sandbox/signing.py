"""The provider's signature scheme: lowercase hex HMAC-SHA512 over the exact body bytes."""

from __future__ import annotations

import hashlib
import hmac


def sign_body(body: bytes, secret: str) -> str:
    """Signature the provider expects in the `Sign` header (and sends on webhooks)."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def signature_matches(body: bytes, secret: str, provided: str) -> bool:
    """Constant-time check of a `Sign` header against the body it claims to sign."""
    # Headers arrive decoded as latin-1; comparing bytes keeps compare_digest from raising
    # on non-ASCII input and keeps the comparison constant-time.
    return hmac.compare_digest(sign_body(body, secret).encode(), provided.encode("latin-1"))
