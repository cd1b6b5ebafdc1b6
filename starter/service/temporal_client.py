"""Connecting to Temporal the same way everywhere: pydantic payloads, large ones offloaded."""

from __future__ import annotations

from temporalio.client import Client

from starter.service.payload_storage import data_converter
from starter.service.settings import Settings


async def connect(settings: Settings) -> Client:
    """A Temporal client for the configured address and namespace.

    Every client and worker must share PAYOUTS_PAYLOAD_DIR (or one S3/GCS store): a payload
    offloaded by one process is read back by another.
    """
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.payload_dir),
    )
