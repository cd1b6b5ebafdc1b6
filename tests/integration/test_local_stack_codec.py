"""`payouts dev` / `payouts demo` with PAYOUTS_ENCRYPTION_KEYS: the local stack starts the codec
server and the dev server's Web UI is pointed at it (its settings name the endpoint)."""

from __future__ import annotations

from pathlib import Path

import httpx
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from starter.local.local_stack import LocalPorts, local_stack
from starter.service.encryption import EncryptionCodec, format_keys, new_key
from starter.service.settings import Settings
from tests.contract.conftest import eventually
from tests.ports import free_port

KEY = new_key("local")


async def test_the_dev_ui_decodes_through_the_stacks_codec_server(tmp_path: Path) -> None:
    ui = free_port()
    settings = Settings.from_env(
        {
            "PAYOUTS_HOME": str(tmp_path / "home"),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
            "PAYOUTS_ENCRYPTION_KEYS": format_keys([KEY]),
        }
    )
    ports = LocalPorts(ui=ui, receiver=0, sandbox=0, codec=0)
    async with (
        local_stack(settings, ports=ports, webhooks=False) as stack,
        httpx.AsyncClient() as http,
    ):

        async def ui_settings() -> dict[str, object] | None:
            try:
                answer = await http.get(f"{stack.ui_url}/api/v1/settings")
            except httpx.TransportError:
                return None
            return dict(answer.json()) if answer.status_code == 200 else None

        found = await eventually(ui_settings, deadline=60.0)
        codec = found["Codec"]
        assert isinstance(codec, dict)
        endpoint = str(codec["Endpoint"])
        assert endpoint.startswith("http://127.0.0.1:")
        [sealed] = await EncryptionCodec([KEY]).encode(
            [Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')]
        )
        decoded = await http.post(
            f"{endpoint}/decode",
            content=json_format.MessageToJson(Payloads(payloads=[sealed])),
            headers={"Origin": stack.ui_url},
        )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == stack.ui_url
        assert json_format.Parse(decoded.content, Payloads()).payloads[0].data == b'"hello"'
