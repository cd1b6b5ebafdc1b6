"""Reading one environment variable's value: each parser names the variable in its error, and
never echoes a value that may hold a secret. `starter/service/settings.py` puts them together."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from temporalio.common import WorkerDeploymentVersion

from starter.service.s3_payloads import PayloadStoreError, s3_location

SANDBOX_URL = "http://127.0.0.1:8710"
DEFAULT_HOME = "~/.payouts"


class SettingsError(ValueError):
    """Raised when an environment variable has a value we cannot use; names the variable."""


def _payload_store(value: str) -> str | None:
    """PAYOUTS_PAYLOAD_STORE: unset for the local directory, or an `s3://bucket/prefix`."""
    if not value.strip():
        return None
    try:
        return s3_location(value).url
    except PayloadStoreError as error:
        raise SettingsError(str(error)) from None


def _optional_url(name: str, value: str) -> str | None:
    return _url(name, value.strip()) if value.strip() else None


def _url(name: str, value: str, example: str = SANDBOX_URL) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise SettingsError(f"{name}: expected an http(s) URL such as {example}, got {value!r}")
    return value.rstrip("/")


def _host_port(name: str, value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(f"{name}: expected host:port such as 127.0.0.1:7233, got {value!r}")
    return value


def _metrics_address(name: str, value: str) -> str | None:
    """PAYOUTS_METRICS_PORT: a port (served on every interface, as a scrape target must be) or
    host:port; None when unset (no metrics endpoint)."""
    value = value.strip()
    if not value:
        return None
    host, sep, port = value.rpartition(":")
    if not sep:
        host = "0.0.0.0"  # Prometheus scrapes the worker from another host
    if not port.isdigit() or not 0 < int(port) < 65536 or (sep and not host):
        raise SettingsError(
            f"{name}: expected a port 1-65535 or host:port such as 9464, got {value!r}"
        )
    return f"{host}:{int(port)}"


def _positive_seconds(name: str, value: str) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{name}: expected a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise SettingsError(f"{name}: must be greater than 0 seconds, got {value!r}")
    return seconds


def _positive_rate(name: str, value: str) -> float | None:
    """A rate in calls per second, e.g. 20 or 0.5; None when unset (no limit)."""
    if not value:
        return None
    try:
        rate = float(value)
    except ValueError:
        raise SettingsError(f"{name}: expected calls per second, e.g. 20, got {value!r}") from None
    if not 0 < rate < float("inf"):
        raise SettingsError(f"{name}: must be greater than 0 calls per second, got {value!r}")
    return rate


def _positive_hours(name: str, value: str) -> float | None:
    if not value:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise SettingsError(f"{name}: expected a number of hours, e.g. 24, got {value!r}") from None
    if not 0 < hours <= 87600:  # ten years: beyond that a timedelta overflows soon enough
        raise SettingsError(f"{name}: must be more than 0 and at most 87600 hours, got {value!r}")
    return hours


def _key_pairs(name: str, value: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for position, item in enumerate(filter(None, (p.strip() for p in value.split(","))), 1):
        public, sep, secret = item.partition(":")
        if not sep or not public.strip() or not secret.strip():
            # Never echo the value: it holds secrets.
            raise SettingsError(f"{name}: pair {position} is not publicKey:secretKey")
        pairs[public.strip()] = secret.strip()
    return pairs


def _log_level(name: str, value: str) -> str:
    level = value.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(f"{name}: expected DEBUG, INFO, WARNING or ERROR, got {value!r}")
    return level


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    chosen = value.strip().lower()
    if chosen not in choices:
        raise SettingsError(f"{name}: expected {' or '.join(choices)}, got {value!r}")
    return chosen


def _home(name: str, value: str) -> Path:
    """PAYOUTS_HOME: absolute (or `~`-relative), and a directory if it exists. A relative home
    would mean one place per working directory: the very thing it exists to prevent."""
    home = Path(value.strip() or DEFAULT_HOME).expanduser()
    if not home.is_absolute():
        raise SettingsError(f"{name}: expected an absolute path such as ~/.payouts, got {value!r}")
    if _exists(name, home) and not home.is_dir():
        raise SettingsError(f"{name}: {str(home)!r} exists and is not a directory")
    return Path(os.path.normpath(home))


def _under_home(home: Path, name: str, value: str) -> str:
    """An absolute path as is (after `~`); a relative one under `home`, whatever the working
    directory. PAYOUTS_PAYLOAD_DIR must be a directory, PAYOUTS_LEDGER_PATH a file."""
    path = Path(os.path.normpath(home / Path(value).expanduser()))
    wants_directory = name == "PAYOUTS_PAYLOAD_DIR"
    if _exists(name, path) and path.is_dir() != wants_directory:
        kind = "a directory" if wants_directory else "a file"
        raise SettingsError(f"{name}: {str(path)!r} exists and is not {kind}")
    return str(path)


def _exists(name: str, path: Path) -> bool:
    if "\0" in str(path):  # `exists` would say no; opening it later would fail far from here
        raise SettingsError(f"{name}: a path cannot hold a NUL character, got {str(path)!r}")
    try:
        return path.exists()
    except OSError as error:  # a name too long, no permission
        raise SettingsError(f"{name}: cannot use {str(path)!r}: {error}") from None


def _deployment_version(name: str, build_id: str) -> WorkerDeploymentVersion | None:
    """PAYOUTS_DEPLOYMENT_NAME and PAYOUTS_BUILD_ID: both (a versioned worker) or neither."""
    name, build_id = name.strip(), build_id.strip()
    if not name and not build_id:
        return None
    if not build_id:
        raise SettingsError("PAYOUTS_BUILD_ID: required when PAYOUTS_DEPLOYMENT_NAME is set")
    if not name:
        raise SettingsError("PAYOUTS_DEPLOYMENT_NAME: required when PAYOUTS_BUILD_ID is set")
    if "." in name:  # the version's canonical form is <deployment name>.<build id>
        raise SettingsError(f"PAYOUTS_DEPLOYMENT_NAME: must not contain '.', got {name!r}")
    return WorkerDeploymentVersion(deployment_name=name, build_id=build_id)
