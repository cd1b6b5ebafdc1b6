"""docker-compose.yml stays valid although no Docker engine runs on the build machines: services,
dependencies, ports, CLI verbs, and what a deployment needs (README, Docker)."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import yaml

from starter.cli.main import app
from starter.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ONE_SHOT = {"setup", "minio-setup", "webhook-subscribe"}  # run to completion, no health check


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"]
    return found


def env_file(path: str) -> dict[str, str]:
    """The variables of `path`'s committed example (the real file is the operator's secret)."""
    example = ROOT / f"{path}.example"
    assert example.is_file(), f"{path}: no {example.name} to copy from"
    pairs = (line.split("=", 1) for line in example.read_text().splitlines())
    return {p[0].strip(): p[1].strip() for p in pairs if len(p) == 2 and not p[0].startswith("#")}


def interpolated(environment: dict[str, str]) -> dict[str, str]:
    """Compose's `${NAME:-default}` as with nothing set in the shell."""
    return {k: re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(v)) for k, v in environment.items()}


def depends(service: dict[str, Any], dependency: str) -> str | None:
    condition: str | None = service.get("depends_on", {}).get(dependency, {}).get("condition")
    return condition


def test_services_reference_each_other_consistently() -> None:
    found = services()
    assert {
        "postgresql",
        "temporal",
        "temporal-ui",
        "codec-server",
        "ledger-db",
        "minio",
        "minio-setup",
        "sandbox",
        "setup",
        "worker",
        "webhook-subscribe",
        "webhooks",
        "prometheus",
        "grafana",
    } <= set(found)
    for name, service in found.items():
        assert "image" in service or "build" in service, name
        assert isinstance(service.get("depends_on", {}), dict), f"{name}: use conditions"
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in found, f"{name} depends on unknown {dependency}"
            wanted = (
                "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            )
            assert rule["condition"] == wanted, f"{name} on {dependency}"


def test_project_services_run_existing_cli_verbs() -> None:
    verbs = {
        command.name or getattr(command.callback, "__name__", "").replace("_", "-")
        for command in app.registered_commands
    }
    for name, service in services().items():
        entrypoint = service.get("entrypoint")
        if "build" in service and (entrypoint is None or entrypoint[-1] == "payouts"):
            assert service["command"][0] in verbs, f"{name}: no such verb {service['command'][0]}"


def test_no_host_port_is_published_twice() -> None:
    published = [port.split(":")[0] for s in services().values() for port in s.get("ports", [])]
    assert len(published) == len(set(published))


def test_dockerfile_copies_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("activities", "workflows", "starter", "sandbox"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_every_long_running_service_has_a_health_check() -> None:
    for name, service in services().items():
        if name not in ONE_SHOT:
            assert service.get("healthcheck", {}).get("test"), f"{name}: no health check"


def test_temporal_runs_on_postgresql_with_versioning_enabled() -> None:
    temporal = services()["temporal"]
    assert temporal["environment"]["DB"].startswith("postgres")
    assert temporal["environment"]["POSTGRES_SEEDS"] == "postgresql"
    assert depends(temporal, "postgresql") == "service_healthy"
    mounted = temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    [source] = [v.split(":")[0] for v in temporal["volumes"] if v.split(":")[1] == mounted]
    config = yaml.safe_load((ROOT / source).read_text())
    assert config["system.enableDeploymentVersions"] == [{"value": True}]


def test_the_ui_decodes_through_the_codec_server() -> None:
    found = services()
    ui, codec = found["temporal-ui"], found["codec-server"]
    codec_port = next(p.split(":")[0] for p in codec["ports"] if p.endswith(":8888"))
    assert ui["environment"]["TEMPORAL_CODEC_ENDPOINT"] == f"http://localhost:{codec_port}"
    assert codec["command"][0] == "codec-server"
    ui_port = next(p.split(":")[0] for p in ui["ports"])
    assert f"http://localhost:{ui_port}" in codec["command"]  # CORS for the UI's origin
    assert codec["env_file"] == "deploy/payouts.env"
    assert "PAYOUTS_ENCRYPTION_KEYS" in env_file("deploy/payouts.env")


def test_setup_finishes_before_two_worker_replicas_start() -> None:
    worker = services()["worker"]
    assert worker["command"] == ["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert depends(worker, "setup") == "service_completed_successfully"
    assert depends(worker, "minio-setup") == "service_completed_successfully"
    assert "ports" not in worker  # replicas cannot share a host port


def test_workers_share_the_postgres_ledger_and_the_s3_payload_store() -> None:
    """Every replica, the receiver and `setup` see the same ledger and offloaded payloads."""
    found = services()
    secrets = env_file("deploy/payouts.env")
    stores = env_file("deploy/db.env")
    for name in ("worker", "webhooks", "setup"):
        environment = found[name]["environment"]
        assert environment["PAYOUTS_LEDGER"] == "postgres", name
        assert environment["PAYOUTS_PAYLOAD_STORE"].startswith("s3://"), name
        assert environment["AWS_ENDPOINT_URL"] == "http://minio:9000", name
        assert found[name]["env_file"] == "deploy/payouts.env", name
    assert "@ledger-db:5432/payouts" in secrets["PAYOUTS_LEDGER_DSN"]
    assert depends(found["worker"], "ledger-db") == "service_healthy"
    assert found["ledger-db"]["environment"]["POSTGRES_DB"] == "payouts"
    assert secrets["AWS_ACCESS_KEY_ID"] == stores["MINIO_ROOT_USER"]
    bucket = found["worker"]["environment"]["PAYOUTS_PAYLOAD_STORE"].split("/")[2]
    assert f"store/{bucket}" in " ".join(found["minio-setup"]["entrypoint"])


def test_the_receiver_gets_its_key_pair_from_the_sandbox_subscription() -> None:
    found = services()
    receiver, subscribe = found["webhooks"], found["webhook-subscribe"]
    assert receiver["command"][:3] == ["webhooks", "--host", "0.0.0.0"]
    assert depends(receiver, "webhook-subscribe") == "service_completed_successfully"
    [key_file] = [a for a in subscribe["command"] if a.startswith("/keys/")]
    assert key_file in " ".join(receiver["entrypoint"])
    script = subscribe["entrypoint"][-1].removeprefix("/deploy/")
    assert (ROOT / "deploy" / script).is_file()
    assert subscribe["command"][0] == "http://webhooks:8711/webhooks/calypso"


def test_the_workers_settings_load() -> None:
    """The worker's environment and the example secrets make valid Settings (a valid key in
    place of the placeholder), unversioned unless the shell names a deployment."""
    environment = interpolated(services()["worker"]["environment"])
    secrets = env_file("deploy/payouts.env")
    secrets["PAYOUTS_ENCRYPTION_KEYS"] = "k1:" + base64.b64encode(bytes(32)).decode()
    settings = Settings.from_env({**secrets, **environment})
    assert settings.ledger == "postgres"
    assert (settings.payload_store or "").startswith("s3://payouts/temporal-payloads")
    assert settings.worker_version is None
    versioned = {"PAYOUTS_DEPLOYMENT_NAME": "payouts", "PAYOUTS_BUILD_ID": "r1"}
    settings = Settings.from_env({**secrets, **environment, **versioned})
    assert settings.worker_version is not None


def mounted(service: dict[str, Any], target: str) -> Path:
    """The repository file `service` mounts at `target`."""
    volumes: list[str] = service["volumes"]
    [source] = [v.split(":")[0] for v in volumes if v.split(":")[1] == target]
    assert source.startswith("./"), f"{target} is not a file of the repository"
    return ROOT / source


def test_prometheus_scrapes_every_worker_replica_and_the_receiver() -> None:
    found = services()
    prometheus = found["prometheus"]
    config_path = next(
        a.split("=", 1)[1] for a in prometheus["command"] if a.startswith("--config.file=")
    )
    config = yaml.safe_load(mounted(prometheus, config_path).read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    for name in ("worker", "webhooks"):
        environment = interpolated(found[name]["environment"])
        secrets = env_file("deploy/payouts.env")
        secrets["PAYOUTS_ENCRYPTION_KEYS"] = "k1:" + base64.b64encode(bytes(32)).decode()
        address = Settings.from_env({**secrets, **environment}).metrics_address
        assert address is not None, f"{name}: no PAYOUTS_METRICS_PORT"
        port = int(address.rsplit(":", 1)[1])
        assert address.startswith("0.0.0.0:"), f"{name}: metrics must listen beyond loopback"
        assert depends(prometheus, name) == "service_healthy"
        assert environment["OTEL_SERVICE_NAME"] == f"payouts-{name}"
        job = jobs[f"payouts-{name}"]
        if name == "worker":  # one target per replica, found through Docker's DNS
            [discovery] = job["dns_sd_configs"]
            assert discovery["names"] == ["worker"] and discovery["port"] == port
        else:
            assert job["static_configs"][0]["targets"] == [f"webhooks:{port}"]
    assert "ports" not in found["worker"]  # scraped inside the network, never published


def test_grafana_provisions_prometheus_and_the_dashboard() -> None:
    found = services()
    grafana = found["grafana"]
    assert depends(grafana, "prometheus") == "service_healthy"
    datasources = yaml.safe_load(
        mounted(grafana, "/etc/grafana/provisioning/datasources/payouts.yml").read_text()
    )
    [source] = datasources["datasources"]
    prometheus_port = next(p.split(":")[1] for p in found["prometheus"]["ports"])
    assert source["type"] == "prometheus"
    assert source["url"] == f"http://prometheus:{prometheus_port}"
    providers = yaml.safe_load(
        mounted(grafana, "/etc/grafana/provisioning/dashboards/payouts.yml").read_text()
    )
    folder = providers["providers"][0]["options"]["path"]
    dashboards = [v for v in grafana["volumes"] if v.split(":")[1].startswith(folder + "/")]
    assert dashboards == ["./docs/grafana-dashboard.json:/etc/grafana/dashboards/payouts.json:ro"]
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    [variable] = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"] and all(t["expr"] for t in panel["targets"]), panel["title"]
