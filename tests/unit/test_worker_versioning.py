"""Worker Deployment versioning is opt-in: PAYOUTS_DEPLOYMENT_NAME and PAYOUTS_BUILD_ID reach the
Worker's deployment config; without them the worker is unversioned, as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from starter.service import worker as worker_module
from starter.service.settings import Settings, SettingsError

VERSIONED = {"PAYOUTS_DEPLOYMENT_NAME": "payouts", "PAYOUTS_BUILD_ID": "2026-12-02.1"}


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"PAYOUTS_HOME": str(tmp_path), "PAYOUTS_LEDGER": "none", **env})


def test_unset_means_unversioned(tmp_path: Path) -> None:
    assert settings(tmp_path).worker_version is None


def test_both_variables_make_a_version(tmp_path: Path) -> None:
    assert settings(tmp_path, **VERSIONED).worker_version == WorkerDeploymentVersion(
        deployment_name="payouts", build_id="2026-12-02.1"
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PAYOUTS_DEPLOYMENT_NAME": "payouts"}, "PAYOUTS_BUILD_ID"),
        ({"PAYOUTS_BUILD_ID": "abc123", "PAYOUTS_DEPLOYMENT_NAME": " "}, "PAYOUTS_DEPLOYMENT_NAME"),
        (
            {"PAYOUTS_DEPLOYMENT_NAME": "pay.outs", "PAYOUTS_BUILD_ID": "1"},
            "PAYOUTS_DEPLOYMENT_NAME",
        ),
    ],
)
def test_one_without_the_other_is_refused_naming_the_variable(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as error:
        settings(tmp_path, **env)
    message = str(error.value)
    assert message.startswith(f"{named}:")
    assert "\n" not in message


class RecordedWorker:
    """Stands in for `temporalio.worker.Worker` (a real one needs a connected client): records
    the keyword arguments `run_worker` builds it with, and returns at once from `run`."""

    built: list[dict[str, Any]] = []

    def __init__(self, client: Client, **config: Any) -> None:
        RecordedWorker.built.append(config)

    async def run(self) -> None:
        return None


async def worker_config(config: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The Worker's arguments when `payouts worker` runs with these settings."""
    monkeypatch.setattr(worker_module, "Worker", RecordedWorker)
    RecordedWorker.built.clear()
    client = await Client.connect("127.0.0.1:1", lazy=True)  # never dials
    await worker_module.run_worker(client, config)
    [built] = RecordedWorker.built
    return built


async def test_settings_reach_the_workers_deployment_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = await worker_config(settings(tmp_path, **VERSIONED), monkeypatch)
    deployment = config["deployment_config"]
    assert isinstance(deployment, WorkerDeploymentConfig)
    assert deployment.version == WorkerDeploymentVersion("payouts", "2026-12-02.1")
    assert deployment.use_worker_versioning is True
    assert deployment.default_versioning_behavior == VersioningBehavior.AUTO_UPGRADE
    assert "build_id" not in config and "use_worker_versioning" not in config  # exclusive


async def test_default_worker_has_no_deployment_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = await worker_config(settings(tmp_path), monkeypatch)
    assert config["deployment_config"] is None
    assert config["task_queue"] == "payouts"
