"""docker-compose.yml stays valid although no Docker engine runs on the build machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from starter.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_services_reference_each_other_consistently() -> None:
    services = compose()["services"]
    assert {"postgresql", "temporal", "temporal-ui", "sandbox", "setup", "worker"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for dependency in service.get("depends_on", []):
            assert dependency in services, f"{name} depends on unknown {dependency}"


def test_project_services_run_existing_cli_verbs() -> None:
    verbs = {
        command.name or getattr(command.callback, "__name__", "").replace("_", "-")
        for command in app.registered_commands
    }
    for name, service in compose()["services"].items():
        if "build" in service:
            assert service["command"][0] in verbs, f"{name}: no such verb {service['command'][0]}"


def test_no_host_port_is_published_twice() -> None:
    published = [
        port.split(":")[0] for s in compose()["services"].values() for port in s.get("ports", [])
    ]
    assert len(published) == len(set(published))


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("activities", "workflows", "starter", "sandbox"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_worker_shares_one_payload_store_and_ledger() -> None:
    """Workers and clients must see the same offloaded payloads (PAYOUTS_PAYLOAD_DIR)."""
    worker = compose()["services"]["worker"]
    assert worker["environment"]["PAYOUTS_PAYLOAD_DIR"].startswith("/data/")
    assert any(volume.endswith(":/data") for volume in worker["volumes"])
