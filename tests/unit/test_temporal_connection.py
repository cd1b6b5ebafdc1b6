"""Every Temporal connection setting reaches the connect call; a bad one fails at start naming
its variable. The profile file and TEMPORAL_* variables are the SDK's environment configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from starter.service.encryption import EncryptionCodec, format_keys, new_key
from starter.service.settings import Settings, SettingsError
from starter.service.temporal_client import connect_options
from tests.integration.throwaway_pki import Pki, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def options(env: dict[str, str]) -> dict[str, object]:
    return connect_options(Settings.from_env(env))


def test_nothing_configured_keeps_the_local_defaults() -> None:
    built = options({})
    assert built["target_host"] == "127.0.0.1:7233"
    assert built["namespace"] == "default"
    assert "api_key" not in built and "tls" not in built and "rpc_metadata" not in built
    assert built["data_converter"].payload_codec is None  # type: ignore[attr-defined]


def test_api_key_turns_tls_on_and_every_variable_arrives() -> None:
    built = options(
        {
            "TEMPORAL_ADDRESS": "payouts.a1b2c.tmprl.cloud:7233",
            "TEMPORAL_NAMESPACE": "payouts.a1b2c",
            "TEMPORAL_API_KEY": "key-123",
            "TEMPORAL_GRPC_META_X_TENANT": "eu",
        }
    )
    assert built["target_host"] == "payouts.a1b2c.tmprl.cloud:7233"
    assert built["namespace"] == "payouts.a1b2c"
    assert built["api_key"] == "key-123"
    assert built["tls"] is True
    assert built["rpc_metadata"] == {"x-tenant": "eu"}


def test_mtls_files_are_read_at_start(pki: Pki) -> None:
    built = options(
        {
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(pki.client_key),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.ca_cert),
            "TEMPORAL_TLS_SERVER_NAME": "temporal.test",
        }
    )
    tls = built["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == pki.client_cert.read_bytes()
    assert tls.client_private_key == pki.client_key.read_bytes()
    assert tls.server_root_ca_cert == pki.ca_cert.read_bytes()
    assert tls.domain == "temporal.test"


def test_tls_flag_alone_and_disabled() -> None:
    assert isinstance(options({"TEMPORAL_TLS": "true"})["tls"], TLSConfig)
    assert options({"TEMPORAL_TLS": "false"})["tls"] is False


def test_a_profile_from_the_file_and_variables_over_it(tmp_path: Path, pki: Pki) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.default]\naddress = "localhost:7233"\n\n'
        '[profile.prod]\naddress = "temporal.internal:7233"\nnamespace = "payouts"\n'
        f'[profile.prod.tls]\nclient_cert_path = "{pki.client_cert}"\n'
        f'client_key_path = "{pki.client_key}"\nserver_ca_cert_path = "{pki.ca_cert}"\n'
    )
    env = {"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"}
    built = options(env)
    assert built["target_host"] == "temporal.internal:7233"
    assert built["namespace"] == "payouts"
    assert isinstance(built["tls"], TLSConfig)
    assert built["tls"].client_cert == pki.client_cert.read_bytes()
    overridden = options({**env, "TEMPORAL_NAMESPACE": "payouts-eu"})
    assert overridden["namespace"] == "payouts-eu"
    assert options({"TEMPORAL_CONFIG_FILE": str(config)})["target_host"] == "localhost:7233"


def test_encryption_keys_put_the_codec_on_the_converter() -> None:
    keys = format_keys([new_key("2026-12"), new_key("2026-06")])
    converter = options({"PAYOUTS_ENCRYPTION_KEYS": keys})["data_converter"]
    codec = converter.payload_codec  # type: ignore[attr-defined]
    assert isinstance(codec, EncryptionCodec)
    assert codec.key_ids == ["2026-12", "2026-06"]
    assert converter.external_storage is not None  # type: ignore[attr-defined]


def bad(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_bad_input_names_the_variable(tmp_path: Path, pki: Pki) -> None:
    missing = str(tmp_path / "nowhere.pem")
    assert bad(
        {"TEMPORAL_TLS_CLIENT_CERT_PATH": missing, "TEMPORAL_TLS_CLIENT_KEY_PATH": missing}
    ).startswith("TEMPORAL_TLS_CLIENT_CERT_PATH: cannot read")
    assert bad({"TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(pki.client_key)}).startswith(
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH: expected a PEM certificate"
    )
    assert bad({"TEMPORAL_TLS_CLIENT_CERT_PATH": str(pki.client_cert)}).startswith(
        "TEMPORAL_TLS_CLIENT_KEY_PATH:"
    )
    malformed = tmp_path / "bad.toml"
    malformed.write_text("[profile.prod\naddress = ")
    assert bad({"TEMPORAL_CONFIG_FILE": str(malformed)}).startswith("TEMPORAL_CONFIG_FILE: ")
    assert bad({"TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml")}).startswith(
        "TEMPORAL_CONFIG_FILE: no readable file"
    )
    good = tmp_path / "good.toml"
    good.write_text('[profile.prod]\naddress = "a:7233"\n')
    assert bad({"TEMPORAL_CONFIG_FILE": str(good), "TEMPORAL_PROFILE": "staging"}).startswith(
        "TEMPORAL_PROFILE: "
    )
    assert bad({"TEMPORAL_TLS": "maybe"}).startswith("TEMPORAL_TLS: ")
    assert bad({"TEMPORAL_ADDRESS": "no-port"}).startswith("TEMPORAL_ADDRESS: ")
    assert bad({"TEMPORAL_API_KEY": "k", "TEMPORAL_TLS": "false"}).startswith("TEMPORAL_TLS: ")


def test_a_profile_file_cert_error_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        f'[profile.default.tls]\nclient_cert_path = "{tmp_path}/gone.pem"\n'
        f'client_key_path = "{tmp_path}/gone-key.pem"\n'
    )
    message = bad({"TEMPORAL_CONFIG_FILE": str(config)})
    assert message.startswith("TEMPORAL_CONFIG_FILE (profile 'default') tls.client_cert:")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("k1", "key 1 is not keyId:base64key"),
        ("k1:!!!", "key 'k1' is not valid base64"),
        ("k1:" + "QUJD", "key 'k1' is 3 bytes; AES-256 needs 32"),
    ],
)
def test_bad_encryption_keys_name_the_variable(value: str, reason: str) -> None:
    message = bad({"PAYOUTS_ENCRYPTION_KEYS": value})
    assert message.startswith(f"PAYOUTS_ENCRYPTION_KEYS: {reason}")


def test_duplicate_key_ids_are_refused_without_echoing_keys() -> None:
    first, second = new_key("k1"), new_key("k1")
    message = bad({"PAYOUTS_ENCRYPTION_KEYS": format_keys([first, second])})
    assert message == "PAYOUTS_ENCRYPTION_KEYS: key id 'k1' appears twice"


def test_the_default_profile_file_is_the_process_environments_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_file = tmp_path / ".config" / "temporalio" / "temporal.toml"
    default_file.parent.mkdir(parents=True)
    default_file.write_text('[profile.default]\naddress = "from-home:7233"\n')
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PAYOUTS_HOME", str(tmp_path / "payouts"))
    assert Settings.from_env().temporal_address == "from-home:7233"
    # An explicit mapping is the whole environment: no file unless it names one.
    assert Settings.from_env({}).temporal_address == "127.0.0.1:7233"
