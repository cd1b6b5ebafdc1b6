"""One trace from the Python API's start through the workflow and its activities down to each
provider request, the ledger and the webhooks' signals (docs/observability.md), recorded by an
in-memory exporter on the process's tracer provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from sandbox.server import SandboxHandle
from starter.service.worker import workflow_runner
from tests.contract.conftest import Control
from tests.integration.observed_stack import observed_stack, payout_request
from workflows.payout_models import SagaState
from workflows.single_payout import SinglePayoutWorkflow

CREATE = "POST /api/v1/payout/create"


@pytest.fixture(scope="module")
def provider() -> Iterator[TracerProvider]:
    """A global tracer provider for this module, removed after it (as OpenTelemetry's own test
    utilities do), so that the tests after these run untraced, as they would in production
    without OTEL_EXPORTER_OTLP_ENDPOINT. Our spans look their tracer up per call, so none keeps
    this provider."""
    assert not isinstance(trace.get_tracer_provider(), TracerProvider), "a provider is installed"
    installed = TracerProvider()
    trace.set_tracer_provider(installed)
    yield installed
    installed.shutdown()
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def traced_client(dev_server: WorkflowEnvironment) -> Client:
    """The dev server's client with a tracing interceptor, as `connect()` gives every client
    (a fresh one: the process's own would keep this module's provider once it resolved it)."""
    config = dev_server.client.config()
    config["interceptors"] = [TracingInterceptor()]
    return Client(**config)


def parent_of(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> ReadableSpan | None:
    return by_id.get(span.parent.span_id) if span.parent else None


def ancestry(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    """The names from `span` up to the root of its trace."""
    names: list[str] = []
    current: ReadableSpan | None = span
    while current is not None:
        names.append(current.name)
        current = parent_of(current, by_id)
    return names


async def test_one_trace_runs_from_the_api_to_the_provider_request(
    dev_server: WorkflowEnvironment,
    sandbox_server: SandboxHandle,
    sandbox: Control,
    spans: InMemorySpanExporter,
    tmp_path: Path,
) -> None:
    client = traced_client(dev_server)
    async with observed_stack(client, sandbox_server, tmp_path) as stack:
        tracer = trace.get_tracer("tests")
        with tracer.start_as_current_span("backend: pay invoice-2291") as root:
            key = await stack.payouts.start(payout_request("25.5"))
        assert (await stack.payouts.result(key)).state == SagaState.COMPLETED
        history = await client.get_workflow_handle(f"payout-{key}").fetch_history()

    # Traced and metered, the history still replays, with the interceptor or without.
    for interceptors in ([], [TracingInterceptor()]):
        replayer = Replayer(
            workflows=[SinglePayoutWorkflow],
            data_converter=client.data_converter,
            workflow_runner=workflow_runner(),
            interceptors=interceptors,
        )
        await replayer.replay_workflow(history)

    trace_id = root.get_span_context().trace_id
    ours = [s for s in spans.get_finished_spans() if s.context and s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in ours if s.context}
    names = {s.name for s in ours}
    assert {
        "StartWorkflow:SinglePayout",
        "RunWorkflow:SinglePayout",
        "StartActivity:create_payout",
        "RunActivity:create_payout",
        CREATE,
        "ledger settle",
    } <= names
    [create] = [s for s in ours if s.name == CREATE]
    assert ancestry(create, by_id) == [
        CREATE,
        "RunActivity:create_payout",
        "StartActivity:create_payout",
        "StartWorkflow:SinglePayout",  # the workflow's spans hang from the start's context
        "backend: pay invoice-2291",
    ]
    [run] = [s for s in ours if s.name == "RunWorkflow:SinglePayout"]
    assert ancestry(run, by_id)[1:] == ["StartWorkflow:SinglePayout", "backend: pay invoice-2291"]
    assert create.kind == trace.SpanKind.CLIENT
    assert create.attributes and create.attributes["http.response.status_code"] == 200
    assert create.attributes["calypso.outcome"] == "ok"
    [settle] = [s for s in ours if s.name == "ledger settle"]
    assert ancestry(settle, by_id)[1] == "RunActivity:settle_funds"

    # Each webhook the sandbox sent is a server span whose child signals the saga.
    everything = spans.get_finished_spans()
    every_id = {s.context.span_id: s for s in everything if s.context}
    signals = [s for s in everything if s.name == "SignalWorkflow:provider_event"]
    assert signals
    for signal in signals:
        assert ancestry(signal, every_id)[1] == "POST /webhooks/calypso"
