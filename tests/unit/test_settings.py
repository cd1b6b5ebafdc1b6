"""Settings load from the environment and fail naming the variable."""

from __future__ import annotations

import pytest

from starter.settings import SANDBOX_URL, Settings, SettingsError


def test_defaults_point_at_the_sandbox() -> None:
    settings = Settings.from_env({})
    assert settings.calypso_api_url == SANDBOX_URL
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.task_queue == "payouts"
    assert settings.webhook_keys == {}
    assert settings.uses_sandbox_credentials


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
    assert not settings.uses_sandbox_credentials
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
