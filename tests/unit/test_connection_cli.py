"""The console script on bad connection or encryption settings: one line naming the variable,
exit 2, before anything connects or listens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from starter.service.encryption import format_keys, new_key


def payouts(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TEMPORAL_", "PAYOUTS_", "CALYPSO_"))
    }
    environ.update(PAYOUTS_HOME=str(tmp_path / "home"), **env)
    return subprocess.run(  # noqa: S603 - our own entry point
        [sys.executable, "-c", "from starter.cli.main import main; main()", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )


NO_FILE = {
    "TEMPORAL_TLS_CLIENT_CERT_PATH": "/nonexistent/client.pem",
    "TEMPORAL_TLS_CLIENT_KEY_PATH": "/nonexistent/client.key",
}
SHORT_KEY = {"PAYOUTS_ENCRYPTION_KEYS": "k1:c2hvcnQ="}


@pytest.mark.parametrize(
    ("args", "env", "starts"),
    [
        (["codec-server"], {}, "payouts: PAYOUTS_ENCRYPTION_KEYS: set at least one"),
        (["codec-server"], SHORT_KEY, "payouts: PAYOUTS_ENCRYPTION_KEYS: key 'k1' is 5 bytes"),
        (["worker"], {"TEMPORAL_PROFILE": "nowhere"}, "payouts: TEMPORAL_PROFILE: "),
        (["worker"], NO_FILE, "payouts: TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read"),
        (["codec-server", "--ui-origin", "ftp://ui"], {}, "payouts: ui-origin: expected an origin"),
    ],
)
def test_bad_settings_stop_with_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], starts: str
) -> None:
    ran = payouts(tmp_path, *args, **env)
    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(starts), ran.stderr
    assert ran.stderr.count("\n") == 1, ran.stderr


def test_the_key_is_never_echoed(tmp_path: Path) -> None:
    good = format_keys([new_key("k1")])
    ran = payouts(tmp_path, "codec-server", PAYOUTS_ENCRYPTION_KEYS=f"{good},{good}")
    assert ran.returncode == 2
    assert good.partition(":")[2] not in ran.stderr
