"""Encrypted payloads: AES-256-GCM on every payload a client or worker sends to Temporal.

With PAYOUTS_ENCRYPTION_KEYS set, deposit addresses, amounts and comments reach Temporal's
history (and the external payload store) only as ciphertext. Each encrypted payload names its key
in the metadata (`encryption-key-id`): new payloads use the first key, old ones decode with the
key they name, so a key is rotated by putting a new one first and dropping the old one only once
no open history needs it. The codec server (`starter.service.codec_server`) lets the Temporal UI
show them in clear to whoever holds its token.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
NONCE_BYTES = 12
_VARIABLE = "PAYOUTS_ENCRYPTION_KEYS"


class EncryptionKeyError(ValueError):
    """A PAYOUTS_ENCRYPTION_KEYS value we cannot use; the message names the variable and never
    echoes a key."""


class UnknownEncryptionKeyError(ValueError):
    """A payload encrypted with a key this process does not have."""

    def __init__(self, key_id: str, known: Sequence[str]) -> None:
        self.key_id = key_id
        super().__init__(
            f"payload encrypted with key id {key_id!r}, which is not in {_VARIABLE} "
            f"(known: {', '.join(known) or 'none'}); add that key to decode it"
        )


@dataclass(frozen=True)
class EncryptionKey:
    key_id: str
    secret: bytes  # 32 bytes

    def __repr__(self) -> str:  # never print the secret
        return f"EncryptionKey({self.key_id!r})"


def parse_keys(value: str, variable: str = _VARIABLE) -> tuple[EncryptionKey, ...]:
    """`id1:base64key,id2:base64key` → keys in order (the first encrypts); empty → none."""
    keys: list[EncryptionKey] = []
    for position, item in enumerate(filter(None, (p.strip() for p in value.split(","))), 1):
        key_id, sep, encoded = (part.strip() for part in item.partition(":"))
        if not sep or not key_id or not encoded:
            raise EncryptionKeyError(f"{variable}: key {position} is not keyId:base64key")
        try:
            secret = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise EncryptionKeyError(f"{variable}: key {key_id!r} is not valid base64") from None
        if len(secret) != KEY_BYTES:
            raise EncryptionKeyError(
                f"{variable}: key {key_id!r} is {len(secret)} bytes; AES-256 needs {KEY_BYTES}"
                " (make one with: openssl rand -base64 32)"
            )
        if any(key.key_id == key_id for key in keys):
            raise EncryptionKeyError(f"{variable}: key id {key_id!r} appears twice")
        keys.append(EncryptionKey(key_id, secret))
    return tuple(keys)


def format_keys(keys: Sequence[EncryptionKey]) -> str:
    """The PAYOUTS_ENCRYPTION_KEYS form of `keys` (for child processes and tests)."""
    return ",".join(f"{k.key_id}:{base64.b64encode(k.secret).decode()}" for k in keys)


def new_key(key_id: str) -> EncryptionKey:
    return EncryptionKey(key_id, AESGCM.generate_key(bit_length=256))


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the whole serialized payload (data and metadata); the key id is also
    bound as associated data, so a payload cannot be relabelled to another key."""

    def __init__(self, keys: Sequence[EncryptionKey]) -> None:
        if not keys:
            raise EncryptionKeyError(f"{_VARIABLE}: at least one key is needed to encrypt")
        self._current = keys[0]
        self._ciphers = {key.key_id: AESGCM(key.secret) for key in keys}

    @property
    def key_ids(self) -> list[str]:
        return list(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self._current.key_id
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(
            nonce, payload.SerializeToString(deterministic=True), key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """Clear payloads (written before encryption was enabled) pass through unchanged."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownEncryptionKeyError(key_id, self.key_ids)
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            clear = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise ValueError(
                f"payload encrypted with key id {key_id!r} does not decrypt with that key "
                f"in {_VARIABLE}: wrong key material or a tampered payload"
            ) from None
        decoded = Payload()
        decoded.ParseFromString(clear)
        return decoded
