"""Settings load from the environment and fail naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from starter.service.settings import (
    DEFAULT_LEDGER_FILE,
    DEFAULT_PAYLOAD_DIR,
    SANDBOX_API_SECRET,
    SANDBOX_URL,
    Settings,
    SettingsError,
    default_home,
)


def uses_sandbox_credentials(settings: Settings) -> bool:
    return settings.calypso_api_secret == SANDBOX_API_SECRET


def test_defaults_point_at_the_sandbox() -> None:
    settings = Settings.from_env({})
    assert settings.calypso_api_url == SANDBOX_URL
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.task_queue == "payouts"
    assert settings.webhook_keys == {}
    assert uses_sandbox_credentials(settings)


def test_values_are_read() -> None:
    settings = Settings.from_env(
        {
            "CALYPSO_API_URL": "https://api.calypso.finance/",
            "CALYPSO_API_SECRET": "s3cret",
            "CALYPSO_WEBHOOK_KEYS": "pub1:sec1, pub2:sec2",
            "PAYOUTS_POLL_INTERVAL": "2.5",
            "PAYOUTS_TASK_QUEUE": "payouts-eu",
        }
    )
    assert settings.calypso_api_url == "https://api.calypso.finance"
    assert settings.webhook_keys == {"pub1": "sec1", "pub2": "sec2"}
    assert settings.poll_interval_seconds == 2.5
    assert settings.task_queue == "payouts-eu"
    assert not uses_sandbox_credentials(settings)
    assert "s3cret" not in repr(settings)
    assert "s3cret" not in repr(settings.credentials)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CALYPSO_API_URL", "ftp://x"),
        ("TEMPORAL_ADDRESS", "localhost"),
        ("PAYOUTS_POLL_INTERVAL", "soon"),
        ("PAYOUTS_POLL_INTERVAL", "0"),
        ("CALYPSO_WEBHOOK_KEYS", "only-a-public-key"),
        ("PAYOUTS_LOG_LEVEL", "LOUD"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}: "):
        Settings.from_env({name: value})


def test_bad_webhook_keys_do_not_echo_secrets() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"CALYPSO_WEBHOOK_KEYS": "good:pair,leaky-secret-value"})
    assert "leaky" not in str(caught.value)


def test_ledger_callback_and_payload_settings_are_read() -> None:
    settings = Settings.from_env(
        {
            "PAYOUTS_LEDGER": "http",
            "PAYOUTS_LEDGER_URL": "https://books.example/ledger",
            "PAYOUTS_LEDGER_SECRET": "ledger-s3cret",
            "PAYOUTS_CALLBACK_URL": "https://merchant.example/hooks",
            "PAYOUTS_CALLBACK_SECRET": "callback-s3cret",
            "PAYOUTS_PAYLOAD_DIR": "/var/lib/payouts/payloads",
        }
    )
    assert settings.ledger == "http"
    assert settings.ledger_url == "https://books.example/ledger"
    assert settings.ledger_secret == "ledger-s3cret"
    assert settings.callback_url == "https://merchant.example/hooks"
    assert settings.callback_secret == "callback-s3cret"
    assert settings.payload_dir == "/var/lib/payouts/payloads"
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PAYOUTS_LEDGER": "abacus"}, "PAYOUTS_LEDGER"),
        ({"PAYOUTS_LEDGER": "http"}, "PAYOUTS_LEDGER_URL"),
        ({"PAYOUTS_LEDGER_URL": "books"}, "PAYOUTS_LEDGER_URL"),
        ({"PAYOUTS_CALLBACK_URL": "https://merchant.example"}, "PAYOUTS_CALLBACK_SECRET"),
    ],
)
def test_ledger_and_callback_settings_fail_naming_the_variable(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{named}: "):
        Settings.from_env(environ)


def test_the_ledger_rules_are_the_ledgers_own() -> None:
    """`PAYOUTS_LEDGER` takes any letter case, as `ledger_from_settings` does, and the embedded
    ledger's and the payloads' default places are defined once."""
    settings = Settings.from_env(
        {"PAYOUTS_LEDGER": " HTTP ", "PAYOUTS_LEDGER_URL": "http://b", "PAYOUTS_LEDGER_SECRET": "s"}
    )
    assert settings.ledger == "http"
    defaults = Settings.from_env({})
    home = default_home()
    assert (defaults.ledger, defaults.ledger_path) == ("sqlite", str(home / DEFAULT_LEDGER_FILE))
    assert defaults.payload_dir == str(home / DEFAULT_PAYLOAD_DIR)
    assert Settings() == defaults
    with pytest.raises(SettingsError, match=r"^PAYOUTS_LEDGER_SECRET: "):
        Settings.from_env({"PAYOUTS_LEDGER": "http", "PAYOUTS_LEDGER_URL": "http://b"})


RELATIVE_PATHS = {"PAYOUTS_PAYLOAD_DIR": "store/payloads", "PAYOUTS_LEDGER_PATH": "books.sqlite3"}


def test_relative_paths_resolve_against_the_home_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `mass` started in another directory than the worker must store its list where the
    worker reads it: every process of a stack resolves the same absolute paths."""
    home = tmp_path / "home"
    seen = []
    for directory in (tmp_path / "project", tmp_path / "elsewhere" / "deeper"):
        directory.mkdir(parents=True)
        monkeypatch.chdir(directory)
        settings = Settings.from_env({"PAYOUTS_HOME": str(home), **RELATIVE_PATHS})
        seen.append((settings.home, settings.payload_dir, settings.ledger_path))
    assert seen[0] == seen[1]
    assert seen[0] == (str(home), str(home / "store/payloads"), str(home / "books.sqlite3"))


def test_the_default_home_is_absolute_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    seen = []
    for directory in (tmp_path, tmp_path / "sub"):
        directory.mkdir(exist_ok=True)
        monkeypatch.chdir(directory)
        seen.append(Settings.from_env(RELATIVE_PATHS))
    assert seen[0] == seen[1]
    assert seen[0].home == str(tmp_path / "user" / ".payouts")
    assert seen[0].payload_dir == str(tmp_path / "user" / ".payouts" / "store" / "payloads")
    assert Path(seen[0].ledger_path).is_absolute()


def test_absolute_and_home_relative_paths_are_kept(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "PAYOUTS_HOME": str(tmp_path / "a" / ".." / "home"),
            "PAYOUTS_PAYLOAD_DIR": str(tmp_path / "shared" / "payloads"),
            "PAYOUTS_LEDGER_PATH": "~/books.sqlite3",
        }
    )
    assert settings.home == str(tmp_path / "home")
    assert settings.payload_dir == str(tmp_path / "shared" / "payloads")
    assert settings.ledger_path == str(Path.home() / "books.sqlite3")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAYOUTS_HOME", "relative/home"),
        ("PAYOUTS_HOME", "{file}"),
        ("PAYOUTS_PAYLOAD_DIR", "{file}"),
        ("PAYOUTS_LEDGER_PATH", "{directory}"),
        ("PAYOUTS_LEDGER_PATH", "bad\x00name"),
    ],
)
def test_bad_paths_fail_in_one_line_naming_the_variable(
    tmp_path: Path, name: str, value: str
) -> None:
    (tmp_path / "a-file").write_text("")
    value = value.format(file=tmp_path / "a-file", directory=tmp_path)
    with pytest.raises(SettingsError, match=f"^{name}: ") as caught:
        Settings.from_env({"PAYOUTS_HOME": str(tmp_path), name: value})
    assert "\n" not in str(caught.value)


def test_the_temporal_ui_url_is_read_and_checked() -> None:
    assert Settings.from_env({}).ui_url == "http://127.0.0.1:8233"
    chosen = Settings.from_env({"PAYOUTS_UI_URL": "https://temporal.example/ui/"})
    assert chosen.ui_url == "https://temporal.example/ui"
    with pytest.raises(SettingsError, match=r"^PAYOUTS_UI_URL: .*http://127\.0\.0\.1:8233"):
        Settings.from_env({"PAYOUTS_UI_URL": "localhost:8233"})
