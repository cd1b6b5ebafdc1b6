"""Where and how to reach Temporal: the SDK's environment configuration, checked at start.

`temporalio.envconfig` reads a profile from a TOML file (TEMPORAL_CONFIG_FILE, else the default
`~/.config/temporalio/temporal.toml` if there is one; TEMPORAL_PROFILE, else `default`) and lets
the standard TEMPORAL_* variables override it: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH,
TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_SERVER_NAME, TEMPORAL_GRPC_META_*. The SDK reads
certificate files only when connecting and accepts a missing config file silently; here every
file is read once at start, so a bad one stops the program with one line naming its variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, DataSource
from temporalio.service import TLSConfig

_TRUTHY = ("1", "true")
_FALSY = ("0", "false")
# ClientConfigTLS field → (its TEMPORAL_* variable, its key in a profile's [tls] table, PEM kind)
_TLS_FILES = {
    "server_root_ca_cert": ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "server_ca_cert", "CERTIFICATE"),
    "client_cert": ("TEMPORAL_TLS_CLIENT_CERT_PATH", "client_cert", "CERTIFICATE"),
    "client_private_key": ("TEMPORAL_TLS_CLIENT_KEY_PATH", "client_key", "PRIVATE KEY"),
}


class TemporalConfigError(ValueError):
    """A Temporal connection setting we cannot use; the message starts with the variable."""


@dataclass(frozen=True)
class TemporalAccess:
    """What a client needs besides address and namespace: credentials and transport."""

    api_key: str | None = field(default=None, repr=False)
    # None: plain TCP (unless an API key turns TLS on); TLSConfig carries the files' contents.
    tls: TLSConfig | bool | None = field(default=None, repr=False)
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, repr=False)
    profile: str = "default"


@dataclass(frozen=True)
class TemporalTarget:
    address: str | None
    address_source: str  # the variable to name when the address is bad
    namespace: str | None
    access: TemporalAccess


def load_temporal_target(env: Mapping[str, str], *, default_file: bool = True) -> TemporalTarget:
    """The profile and TEMPORAL_* overrides from `env`; files read and checked now.
    `default_file=False`: without TEMPORAL_CONFIG_FILE, no file at all (the SDK would look for
    its default file under this process's home, whatever `env` says)."""
    profile_name = env.get("TEMPORAL_PROFILE", "").strip() or "default"
    config_file = env.get("TEMPORAL_CONFIG_FILE", "").strip()
    if config_file and not Path(config_file).expanduser().is_file():
        raise TemporalConfigError(f"TEMPORAL_CONFIG_FILE: no readable file at {config_file!r}")
    tls_flag = env.get("TEMPORAL_TLS", "").strip().lower()
    if tls_flag and tls_flag not in _TRUTHY + _FALSY:
        raise TemporalConfigError(f"TEMPORAL_TLS: expected true or false, got {tls_flag!r}")
    try:
        profile = ClientConfigProfile.load(
            config_source=Path(config_file).expanduser() if config_file else None,
            disable_file=not (config_file or default_file),
            override_env_vars=dict(env),
        )
    except (RuntimeError, ValueError, OSError) as error:  # the bridge's ConfigError: RuntimeError
        variable = "TEMPORAL_PROFILE" if "not found" in str(error) else "TEMPORAL_CONFIG_FILE"
        reason = " ".join(str(error).split())
        raise TemporalConfigError(f"{variable}: {reason}") from None
    from_file = f"TEMPORAL_CONFIG_FILE (profile {profile_name!r})"
    access = TemporalAccess(
        api_key=profile.api_key or None,
        tls=_tls(profile, env, from_file),
        rpc_metadata=dict(profile.grpc_meta),
        profile=profile_name,
    )
    return TemporalTarget(
        address=(profile.address or "").strip() or None,
        address_source="TEMPORAL_ADDRESS" if env.get("TEMPORAL_ADDRESS") else from_file,
        namespace=(profile.namespace or "").strip() or None,
        access=access,
    )


def _tls(
    profile: ClientConfigProfile, env: Mapping[str, str], from_file: str
) -> TLSConfig | bool | None:
    tls = profile.tls
    if tls is None:
        return True if profile.api_key else None  # an API key means TLS, as in the SDK
    if tls.disabled:
        if profile.api_key:
            raise TemporalConfigError(
                "TEMPORAL_TLS: TLS is disabled but TEMPORAL_API_KEY is set; "
                "an API key is never sent over plain TCP"
            )
        return False
    files = {name: _read(tls, name, env, from_file) for name in _TLS_FILES}
    if (files["client_cert"] is None) != (files["client_private_key"] is None):
        missing = "client_private_key" if files["client_private_key"] is None else "client_cert"
        variable = _TLS_FILES[missing][0]
        raise TemporalConfigError(f"{variable}: a client certificate needs its key, and back")
    return TLSConfig(
        domain=tls.server_name or None,
        server_root_ca_cert=files["server_root_ca_cert"],
        client_cert=files["client_cert"],
        client_private_key=files["client_private_key"],
    )


def _read(tls: ClientConfigTLS, name: str, env: Mapping[str, str], from_file: str) -> bytes | None:
    source: DataSource | None = getattr(tls, name)
    variable, toml_key, pem_kind = _TLS_FILES[name]
    where = variable if env.get(variable) else f"{from_file} tls.{toml_key}"
    if source is None:
        return None
    if isinstance(source, Path):
        try:
            data = source.expanduser().read_bytes()
        except OSError as error:
            raise TemporalConfigError(
                f"{where}: cannot read {str(source)!r}: {error.strerror}"
            ) from None
    else:
        data = source.encode() if isinstance(source, str) else source
    if b"-----BEGIN" not in data or pem_kind.encode() not in data:
        raise TemporalConfigError(f"{where}: expected a PEM {pem_kind.lower()}")
    return data
