"""Large payloads out of workflow history: the SDK's external storage with a local directory.

Temporal caps a payload at 2 MB (warning from 256 KB) and a history at 50 MB; a 100,000-recipient
list must not travel inline. `ExternalStorage` moves every payload above a threshold to a
`StorageDriver` and leaves a small reference in history. This driver keeps them as files named by
their SHA-256 — content-addressed, so storing the same payload twice is one file and a retried
store is harmless. Workers on several machines set PAYOUTS_PAYLOAD_STORE=s3://bucket/prefix
instead: the SDK's S3 driver (`starter.service.s3_payloads`); every worker and client must see
the same store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    ExternalStorage,
    PayloadCodec,
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)

from starter.service.s3_payloads import s3_driver, s3_location

# Far under the 256 KB per-payload warning: a mass payout's deal (1000 items, ~130 KB) is stored
# outside, so a parent starting 100 deals keeps a small history instead of 100 copies of them.
OFFLOAD_THRESHOLD_BYTES = 32 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")


class PayloadNotFoundError(FileNotFoundError):
    """A payload named in history is not in this process's store. Not an `ApplicationError`:
    in a worker the SDK fails the workflow task and retries it, so the saga waits (visibly,
    in the UI's history) and goes on by itself once the file can be read."""

    def __init__(self, directory: Path, digest: str) -> None:
        self.path = directory / f"{digest}.payload"
        super().__init__(
            f"payload sha256:{digest} is missing from the local-directory payload store "
            f"{directory} (PAYOUTS_PAYLOAD_DIR): no file {self.path}. Every worker and client "
            "must share PAYOUTS_PAYLOAD_DIR (one directory, or one S3/GCS store): point this "
            "process at the directory the payload was written to, or copy the file there. "
            "The workflow task is retried; the saga continues by itself once the file is there."
        )


class LocalDirectoryDriver(StorageDriver):
    """Payloads as files in one directory shared by every worker and client of a machine."""

    def __init__(self, directory: str | Path) -> None:
        # Absolute once: the error names where this process looked, and a later chdir changes
        # nothing (settings already resolve PAYOUTS_PAYLOAD_DIR to an absolute path).
        self._directory = Path(directory).expanduser().absolute()

    @property
    def directory(self) -> Path:
        return self._directory

    def name(self) -> str:
        return "local-directory"

    async def store(
        self, context: StorageDriverStoreContext, payloads: Sequence[Payload]
    ) -> list[StorageDriverClaim]:
        return await asyncio.to_thread(self._store_all, payloads)

    async def retrieve(
        self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]
    ) -> list[Payload]:
        return await asyncio.to_thread(self._retrieve_all, claims)

    def _store_all(self, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        self._directory.mkdir(parents=True, exist_ok=True)
        claims = []
        for payload in payloads:
            data = payload.SerializeToString(deterministic=True)
            digest = hashlib.sha256(data).hexdigest()
            target = self._directory / f"{digest}.payload"
            if not target.exists():
                # Write then rename: a reader never sees half a file.
                partial = target.with_suffix(f".{os.getpid()}.partial")
                partial.write_bytes(data)
                partial.replace(target)
            claims.append(StorageDriverClaim(claim_data={"sha256": digest}))
        return claims

    def _retrieve_all(self, claims: Sequence[StorageDriverClaim]) -> list[Payload]:
        payloads = []
        for claim in claims:
            digest = claim.claim_data.get("sha256", "")
            if not _DIGEST.fullmatch(digest):  # never a path of history's choosing
                raise ValueError(f"payload reference {dict(claim.claim_data)!r} is not ours")
            try:
                data = (self._directory / f"{digest}.payload").read_bytes()
            except FileNotFoundError:
                raise PayloadNotFoundError(self._directory, digest) from None
            if hashlib.sha256(data).hexdigest() != digest:
                raise ValueError(f"stored payload {self._directory / digest}.payload is corrupt")
            payload = Payload()
            payload.ParseFromString(data)
            payloads.append(payload)
        return payloads


def data_converter(
    payload_dir: str | Path, codec: PayloadCodec | None = None, *, store: str | None = None
) -> DataConverter:
    """The pydantic data converter with large payloads offloaded to `payload_dir`
    (PAYOUTS_PAYLOAD_DIR, `Settings.payload_dir`), or to the S3 store `store` names
    (PAYOUTS_PAYLOAD_STORE, `Settings.payload_store`: `s3://bucket/prefix`). With a `codec` (the
    encryption codec), the SDK encodes every payload first and offloads after: what reaches the
    store is encoded too, and on the way back it is retrieved, then decoded."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        external_storage=external_storage(payload_dir, store),
    )


def external_storage(payload_dir: str | Path, store: str | None = None) -> ExternalStorage:
    """Offload to the local directory, or (with `store`) to S3. With S3 the directory stays
    registered for reading, so payloads stored there before the switch are still found."""
    local = LocalDirectoryDriver(payload_dir)
    if not store:
        return ExternalStorage(drivers=[local], payload_size_threshold=OFFLOAD_THRESHOLD_BYTES)
    s3 = s3_driver(s3_location(store))
    return ExternalStorage(
        drivers=[s3, local],
        driver_selector=lambda _context, _payload: s3,
        payload_size_threshold=OFFLOAD_THRESHOLD_BYTES,
    )
