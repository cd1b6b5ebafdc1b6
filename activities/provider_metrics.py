"""Provider requests as metrics (docs/observability.md): the `observe` hook of the worker's
`CalypsoClient`. Recorded through the activity's meter, which the worker's runtime serves on
PAYOUTS_METRICS_PORT (a no-op meter without it, or outside an activity)."""

from __future__ import annotations

from temporalio import activity
from temporalio.common import MetricMeter


def current_meter() -> MetricMeter:
    """The running activity's meter, or the no-op one outside an activity."""
    return activity.metric_meter() if activity.in_activity() else MetricMeter.noop


def record_provider_request(endpoint: str, outcome: str, seconds: float) -> None:
    """One provider request ended: counted by endpoint and outcome, and timed."""
    meter = current_meter().with_additional_attributes({"endpoint": endpoint, "outcome": outcome})
    meter.create_counter("payouts_provider_requests", "Requests to the provider").add(1)
    meter.create_histogram_float(
        "payouts_provider_request_duration_seconds", "Provider request latency", "s"
    ).record(seconds)
