"""With PAYOUTS_ENCRYPTION_KEYS, a saga's history holds no deposit address, amount or comment in
clear; the codec server (its real app over HTTP) shows it to whoever holds its token."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest_asyncio
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from sandbox.server import SandboxHandle
from starter.api.outcomes import saga_result
from starter.api.payouts import Payouts
from starter.service.asgi_runner import serve_in_background
from starter.service.codec_server import create_codec_app
from starter.service.encryption import KEY_ID_METADATA, EncryptionCodec, new_key
from starter.service.payload_storage import data_converter
from starter.service.settings import Settings
from starter.service.temporal_client import connect
from tests.contract.conftest import Control
from tests.integration.conftest import TRON, Stack, start_stack
from tests.integration.mass_support import finished, mass_input, start_mass, tron
from workflows.keys import single_payout_workflow_id
from workflows.payout_models import PayoutRequest, PayoutResult, SagaState

KEY_1, KEY_2 = new_key("k-2026-12"), new_key("k-2026-06")
AMOUNT = Decimal("25.4321")
COMMENT = "salary for Ada Lovelace"
UI = "http://127.0.0.1:8233"
TOKEN = "codec-token-for-tests"
OFFLOADED_RECIPIENTS = 700  # a list of about 43 KB: above the 32 KB offload threshold


@pytest_asyncio.fixture
async def encrypted(
    dev_server: WorkflowEnvironment, sandbox_server: SandboxHandle, sandbox: Control, tmp_path: Path
) -> AsyncIterator[tuple[Stack, Settings]]:
    """A stack whose client and worker come from `connect(settings)` with two keys."""
    target = dev_server.client.service_client.config.target_host
    settings = dataclasses.replace(
        Settings(payload_dir=str(tmp_path / "payloads")),
        temporal_address=target,
        temporal_namespace=dev_server.client.namespace,
        encryption_keys=(KEY_1, KEY_2),
    )
    client = await connect(settings)
    async with start_stack(client, sandbox_server, sandbox, tmp_path) as stack:
        yield stack, dataclasses.replace(settings, task_queue=stack.task_queue)


async def test_history_is_ciphertext_and_the_codec_server_decodes_it(
    encrypted: tuple[Stack, Settings], dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    stack, settings = encrypted
    request = PayoutRequest(deposit_address=TRON, amount=AMOUNT, currency="USDT_TRX")
    key = await Payouts(stack.client, settings).start(
        request.model_copy(update={"comment": COMMENT})
    )
    workflow_id = single_payout_workflow_id(key)
    stack.started.append(workflow_id)
    result = await saga_result(stack.client.get_workflow_handle(workflow_id), PayoutResult)
    assert result.state == SagaState.COMPLETED, result.reason
    # A client without the codec reads the history as the server stores it.
    plain = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(tmp_path / "payloads"),
    )
    history = await plain.get_workflow_handle(workflow_id).fetch_history()
    raw = history.to_json().encode() + b"".join(
        event.SerializeToString() for event in history.events
    )
    for secret in (TRON, str(AMOUNT), COMMENT, TRON[:6]):
        assert secret.encode() not in raw, f"{secret!r} in clear in the history"
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata[KEY_ID_METADATA] == KEY_1.key_id.encode()
    body = json_format.MessageToJson(started.input)

    app = create_codec_app(EncryptionCodec([KEY_1, KEY_2]), [UI], token=TOKEN)
    async with serve_in_background(app) as url, httpx.AsyncClient(base_url=url) as http:
        auth = {"Authorization": f"Bearer {TOKEN}", "Origin": UI, "X-Namespace": "default"}
        refused = await http.post("/decode", content=body, headers={"Origin": UI})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == UI  # the UI can read why
        decoded = await http.post("/decode", content=body, headers=auth)
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == UI
        clear = json_format.Parse(decoded.content, Payloads()).payloads[0].data
        assert TRON.encode() in clear and COMMENT.encode() in clear and b"25.4321" in clear


async def test_codec_server_cors_rotation_and_unknown_keys() -> None:
    app = create_codec_app(EncryptionCodec([KEY_1, KEY_2]), [UI], token=None)
    old = await EncryptionCodec([KEY_2]).encode([_json('"written under key 2"')])
    stranger = await EncryptionCodec([new_key("k-retired")]).encode([_json('"lost"')])
    async with serve_in_background(app) as url, httpx.AsyncClient(base_url=url) as http:
        preflight = await http.options(
            "/decode",
            headers={
                "Origin": UI,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == UI
        assert "POST" in preflight.headers["access-control-allow-methods"]
        elsewhere = await http.options(
            "/decode",
            headers={"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"},
        )
        assert elsewhere.status_code == 400
        # Rotation: key 2's payload decodes under keys 1,2; new encodes use key 1.
        decoded = await http.post("/decode", content=_body(old))
        assert json_format.Parse(decoded.content, Payloads()).payloads[0].data == (
            b'"written under key 2"'
        )
        encoded = await http.post("/encode", content=_body([_json('"new"')]))
        [sealed] = json_format.Parse(encoded.content, Payloads()).payloads
        assert sealed.metadata[KEY_ID_METADATA] == KEY_1.key_id.encode()
        unknown = await http.post("/decode", content=_body(stranger))
        assert unknown.status_code == 400
        assert "key id 'k-retired'" in unknown.json()["error"]
        malformed = await http.post("/decode", content=b"{not json")
        assert malformed.status_code == 400


def _json(data: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data.encode())


def _body(payloads: list[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads))


async def test_a_large_mass_list_is_encrypted_before_it_is_offloaded(
    encrypted: tuple[Stack, Settings], dev_server: WorkflowEnvironment, tmp_path: Path
) -> None:
    stack, _ = encrypted
    addresses = [tron(n) for n in range(OFFLOADED_RECIPIENTS)]
    handle = await start_mass(stack, mass_input(addresses))
    result = await finished(handle)
    assert result.state == SagaState.COMPLETED, result
    stored = await asyncio.to_thread(_stored_payloads, tmp_path / "payloads")
    assert stored, "the list (above 32 KB) went to the payload store"
    for data in stored:
        assert addresses[0].encode() not in data and addresses[-1].encode() not in data
    history = await dev_server.client.get_workflow_handle(handle.id).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    assert addresses[0].encode() not in raw


def _stored_payloads(directory: Path) -> list[bytes]:
    return [path.read_bytes() for path in directory.glob("*.payload")]
