"""Connecting to Temporal the same way everywhere: one function builds every client (CLI, API,
worker, webhook receiver, codec server's checks, local stack).

Where and how to connect comes from the SDK's environment configuration (profile file and
TEMPORAL_* variables, `starter.service.temporal_config`); what travels is shaped by one data
converter: pydantic payloads, encrypted with PAYOUTS_ENCRYPTION_KEYS when set, and those above
32 KB offloaded to the payload store (`starter.service.payload_storage`). Every client carries
the tracing interceptor, and with PAYOUTS_METRICS_PORT the process's metrics runtime
(`starter.service.telemetry`).
"""

from __future__ import annotations

from typing import Any

import structlog
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from starter.service.encryption import EncryptionCodec
from starter.service.payload_storage import data_converter
from starter.service.settings import Settings
from starter.service.telemetry import client_interceptors, install_tracing, metrics_runtime

log = structlog.get_logger()


def payload_converter(settings: Settings) -> DataConverter:
    """The data converter every client and worker of these settings shares."""
    codec = EncryptionCodec(settings.encryption_keys) if settings.encryption_keys else None
    return data_converter(settings.payload_dir, codec=codec, store=settings.payload_store)


def connect_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `Client.connect` for these settings (inspectable in tests)."""
    access = settings.temporal_access
    options: dict[str, Any] = {
        "target_host": settings.temporal_address,
        "namespace": settings.temporal_namespace,
        "data_converter": payload_converter(settings),
    }
    if access.api_key is not None:
        options["api_key"] = access.api_key
    if access.tls is not None:
        options["tls"] = access.tls
    if access.rpc_metadata:
        options["rpc_metadata"] = dict(access.rpc_metadata)
    return options


async def connect(settings: Settings) -> Client:
    """A Temporal client for the configured server, namespace, credentials and converter.

    Every client and worker must share PAYOUTS_PAYLOAD_DIR (or one S3/GCS store) and
    PAYOUTS_ENCRYPTION_KEYS: a payload offloaded or encrypted by one process is read back by
    another.
    """
    install_tracing()
    return await Client.connect(
        **connect_options(settings),
        interceptors=client_interceptors(),
        runtime=process_runtime(settings),
    )


def process_runtime(settings: Settings) -> Runtime | None:
    """The runtime serving PAYOUTS_METRICS_PORT (one per process, shared by its clients), or
    None for the SDK's default. An address already taken (a CLI command run beside the worker
    with the same environment) leaves this process without an endpoint, with a warning."""
    if settings.metrics_address is None:
        return None
    try:
        return metrics_runtime(settings.metrics_address)
    except ValueError as error:
        log.warning("metrics.unavailable", address=settings.metrics_address, error=str(error))
        return None
