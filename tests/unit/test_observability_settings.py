"""PAYOUTS_METRICS_PORT and the OTEL_* variables (docs/observability.md): read once, a bad value
stops the program with one line naming the variable; unset means no endpoint, no exporter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from starter.service import telemetry
from starter.service.settings import Settings, SettingsError
from starter.service.temporal_client import process_runtime

ROOT = Path(__file__).resolve().parents[2]


def test_unset_means_no_metrics_endpoint() -> None:
    assert Settings.from_env({}).metrics_address is None
    assert Settings.from_env({"PAYOUTS_METRICS_PORT": "  "}).metrics_address is None
    assert process_runtime(Settings()) is None


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("9464", "0.0.0.0:9464"),
        (" 9464 ", "0.0.0.0:9464"),
        ("127.0.0.1:9464", "127.0.0.1:9464"),
        ("localhost:1", "localhost:1"),
        ("[::1]:65535", "[::1]:65535"),
    ],
)
def test_a_port_or_host_and_port_is_read(value: str, address: str) -> None:
    assert Settings.from_env({"PAYOUTS_METRICS_PORT": value}).metrics_address == address


@pytest.mark.parametrize(
    "value", ["abc", "0", "65536", "-1", "9464.5", ":9464", "127.0.0.1:", "host:port", "1e3"]
)
def test_a_bad_port_fails_in_one_line_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^PAYOUTS_METRICS_PORT: ") as caught:
        Settings.from_env({"PAYOUTS_METRICS_PORT": value})
    assert "\n" not in str(caught.value)
    assert repr(value.strip()) in str(caught.value)


def test_tracing_is_off_without_an_otlp_endpoint() -> None:
    assert telemetry.install_tracing({}) is False
    assert telemetry.install_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": " "}) is False
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}
    assert telemetry.install_tracing(disabled) is False


def test_an_otlp_endpoint_installs_one_exporting_provider_per_process() -> None:
    """In a child process (a tracer provider is global and can be installed once), with a
    stand-in collector: spans go by OTLP over HTTP to the endpoint, under the service's name."""
    script = """
import json, threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from opentelemetry import trace
from starter.service import telemetry

received = []
class Collector(BaseHTTPRequestHandler):
    def do_POST(self):
        received.append((self.path, len(self.rfile.read(int(self.headers["Content-Length"])))))
        self.send_response(200); self.end_headers()
    def log_message(self, *args): pass
server = HTTPServer(("127.0.0.1", 0), Collector)
threading.Thread(target=server.serve_forever, daemon=True).start()
env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
       "OTEL_SERVICE_NAME": "payouts-worker"}
first = telemetry.install_tracing(env)
provider = trace.get_tracer_provider()
second = telemetry.install_tracing(env)
with telemetry.tracer("test").start_as_current_span("a span"):
    pass
provider.force_flush()
server.shutdown()
print(json.dumps({"first": first, "second": second, "same": provider is trace.get_tracer_provider(),
                  "kind": type(provider).__name__,
                  "service": provider.resource.attributes.get("service.name"),
                  "paths": sorted({path for path, size in received if size})}))
"""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=environment,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {
        "first": True,
        "second": True,
        "same": True,
        "kind": "TracerProvider",
        "service": "payouts-worker",
        "paths": ["/v1/traces"],
    }


def test_one_tracing_interceptor_per_worker() -> None:
    """A worker takes its client's interceptors: it adds the tracing one only when missing."""
    interceptor = telemetry.tracing_interceptor()
    assert telemetry.tracing_interceptor() is interceptor
    assert telemetry.worker_interceptors([interceptor]) == []
    assert telemetry.worker_interceptors([]) == [interceptor]


def test_every_histogram_has_buckets_that_rise() -> None:
    for name, buckets in telemetry.BUCKETS.items():
        assert list(buckets) == sorted(set(buckets)), name


def test_the_dashboard_and_the_docs_name_the_same_metrics() -> None:
    """Every business metric the Grafana dashboard queries is documented."""
    docs = (ROOT / "docs" / "observability.md").read_text()
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    queried = {
        word.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for word in _words(target["expr"])
        if word.startswith("payouts_")
    }
    assert queried
    for name in queried:
        assert f"`{name}" in docs, name
    assert yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())["scrape_configs"]


def _words(expression: str) -> list[str]:
    return "".join(c if c.isalnum() or c == "_" else " " for c in expression).split()
