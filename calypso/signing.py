"""Request signing for the Calypso API: HMAC-SHA512 over the exact body bytes.

The provider signs webhooks with the same scheme, so verification lives here too as a small pure
function over raw bytes and headers (like stripe-python's webhook module).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


class SignatureError(Exception):
    """Raised when an incoming body's `Key`/`Sign` headers do not verify against any known key."""


def sign(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA512 of `body` keyed with `secret`, as the `Sign` header expects."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def verify(body: bytes, headers: Mapping[str, str], keys: Mapping[str, str]) -> str:
    """Check `Key`/`Sign` headers against `keys` (publicKey -> secretKey); return the public key.

    Several keys may be valid at once so that a webhook subscription can be rotated without
    dropping events. The comparison is constant-time.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    public_key = lowered.get("key")
    signature = lowered.get("sign")
    if not public_key or not signature:
        raise SignatureError("missing Key or Sign header")
    secret = keys.get(public_key)
    if secret is None:
        raise SignatureError("unknown Key")
    if not hmac.compare_digest(sign(body, secret), signature.lower()):
        raise SignatureError("Sign does not match the body")
    return public_key
