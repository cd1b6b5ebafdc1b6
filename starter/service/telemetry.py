"""Metrics and traces for operators (docs/observability.md), set up once per process.

Metrics: with PAYOUTS_METRICS_PORT set, every client of the process is built on one Temporal
`Runtime` whose Prometheus endpoint serves the SDK's own metrics (task latencies, slots, polls)
and ours, recorded through the same meter (`workflow.metric_meter()` in workflows,
`activity.metric_meter()` in activities, the runtime's meter in the webhook receiver). Without
it, the SDK's default runtime: no endpoint and a meter that records nothing.

Traces: every client and worker carries the SDK's `TracingInterceptor`, which records spans on
the global OpenTelemetry tracer provider and carries the trace context in Temporal headers
(only when a span is current, so a process without tracing writes no extra header). With
OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) set, the first client of the
process installs an SDK tracer provider exporting by OTLP over HTTP, configured by the standard
OTEL_* variables; unset, nothing is installed and nothing is exported. A process that installs
its own provider (a backend service using `Payouts`) gets our spans in its traces.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence

import structlog
from opentelemetry import trace
from temporalio.client import Interceptor as ClientInterceptor
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import Interceptor as WorkerInterceptor

log = structlog.get_logger()
DEFAULT_SERVICE_NAME = "calypso-payouts"
# Our histograms' buckets (the SDK's default ones suit sub-second latencies only).
SECONDS_TO_DAYS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 259200, 604800)
PROVIDER_LATENCY = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30)
AMOUNTS = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000)
BUCKETS: Mapping[str, Sequence[float]] = {
    "payouts_saga_duration_seconds": SECONDS_TO_DAYS,
    "payouts_paid_after_execution_date_seconds": SECONDS_TO_DAYS,
    "payouts_provider_request_duration_seconds": PROVIDER_LATENCY,
    "payouts_ledger_request_duration_seconds": PROVIDER_LATENCY,
    "payouts_paid_amount": AMOUNTS,
    "payouts_fee_amount": AMOUNTS,
    "payouts_released_amount": AMOUNTS,
    "payouts_failed_amount": AMOUNTS,
}

_lock = threading.Lock()
_runtimes: dict[str, Runtime] = {}
_interceptor: TracingInterceptor | None = None
_tracing_installed = False


def metrics_runtime(address: str) -> Runtime:
    """The process's runtime serving Prometheus on `address` (host:port), created at the first
    call for that address and reused after: a runtime's endpoint cannot be opened twice. Raises
    ValueError when the address cannot be bound."""
    with _lock:
        runtime = _runtimes.get(address)
        if runtime is None:
            prometheus = PrometheusConfig(
                bind_address=address,
                counters_total_suffix=True,
                durations_as_seconds=True,
                histogram_bucket_overrides=BUCKETS,
            )
            runtime = Runtime(telemetry=TelemetryConfig(metrics=prometheus))
            _runtimes[address] = runtime
            log.info("metrics.serving", address=address, path="/metrics")
        return runtime


def tracing_interceptor() -> TracingInterceptor:
    """The one tracing interceptor of the process (it records on the global tracer provider,
    whenever that is installed)."""
    global _interceptor
    with _lock:
        if _interceptor is None:
            _interceptor = TracingInterceptor()
        return _interceptor


def client_interceptors() -> list[ClientInterceptor]:
    return [tracing_interceptor()]


def worker_interceptors(client_interceptors: Sequence[object]) -> list[WorkerInterceptor]:
    """The tracing interceptor for a worker, unless its client carries one already (a worker
    takes its client's interceptors: a second one would record every span twice)."""
    if any(isinstance(each, TracingInterceptor) for each in client_interceptors):
        return []
    return [tracing_interceptor()]


def install_tracing(environ: Mapping[str, str] | None = None) -> bool:
    """Install an OTLP-exporting tracer provider once per process when the standard variables
    ask for one; True if this process exports traces."""
    global _tracing_installed
    env = os.environ if environ is None else environ
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true" or not (traces or base):
        return False
    # As the exporter itself reads them: the traces endpoint as is, the base one + /v1/traces.
    endpoint = traces or f"{base.rstrip('/')}/v1/traces"
    with _lock:
        if _tracing_installed:
            return True
        # Imported here: a process without tracing never loads the SDK or the exporter.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        name = env.get(OTEL_SERVICE_NAME, "").strip() or DEFAULT_SERVICE_NAME
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
        _tracing_installed = True
        log.info("tracing.exporting", service=name, endpoint=endpoint)
        return True


def tracer(name: str) -> trace.Tracer:
    """A tracer on the global provider (a no-op until one is installed)."""
    return trace.get_tracer(name)
