"""The environment contract (docs/architecture.md, public contracts), read once by each entry point.

Every variable is optional: the defaults point at the embedded sandbox and a local Temporal dev
server. A bad value fails at start-up with a message naming the variable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.common import WorkerDeploymentVersion

from activities.ledger.settings import DEFAULT_LEDGER_KIND, LedgerSettingError, ledger_kind
from calypso.client import CalypsoCredentials
from starter.service.encryption import EncryptionKey, EncryptionKeyError, parse_keys
from starter.service.policy_setting import check_policy_fits_ledger, policy_path_of
from starter.service.settings_values import (
    DEFAULT_HOME,
    _choice,
    _deployment_version,
    _home,
    _host_port,
    _key_pairs,
    _log_level,
    _metrics_address,
    _optional_url,
    _payload_store,
    _positive_hours,
    _positive_rate,
    _positive_seconds,
    _under_home,
    _url,
)
from starter.service.settings_values import SANDBOX_URL as SANDBOX_URL  # part of this module's API
from starter.service.settings_values import SettingsError as SettingsError
from starter.service.temporal_config import (
    TemporalAccess,
    TemporalConfigError,
    load_temporal_target,
)
from starter.service.webhook_news import FORWARD_MODES

SANDBOX_ACCOUNT = "sandbox-account"
SANDBOX_API_KEY = "sandbox-public-key"
SANDBOX_API_SECRET = "sandbox-secret-key"  # noqa: S105 - the sandbox's documented default
# Files live under one absolute home so that every process of a stack, whatever its working
# directory, finds the same ledger and payload store (README, settings). Relative values of the
# path variables resolve against PAYOUTS_HOME, never against the working directory.
DEFAULT_PAYLOAD_DIR = "payloads"
DEFAULT_LEDGER_FILE = "ledger.sqlite3"
DEFAULT_CALLBACK_STORE = "callbacks.sqlite3"  # merchant callbacks and their delivery attempts
DEFAULT_CALLBACK_RETRY_HOURS = 24.0
DEFAULT_UI_URL = "http://127.0.0.1:8233"  # the Temporal dev server's Web UI (`payouts dev`)


def default_home() -> Path:
    return Path(DEFAULT_HOME).expanduser()


@dataclass(frozen=True)
class Settings:
    calypso_api_url: str = SANDBOX_URL
    calypso_account: str = SANDBOX_ACCOUNT
    calypso_api_key: str = SANDBOX_API_KEY
    calypso_api_secret: str = field(default=SANDBOX_API_SECRET, repr=False)
    # publicKey -> secretKey accepted on incoming webhooks (several during key rotation).
    webhook_keys: Mapping[str, str] = field(default_factory=dict, repr=False)
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "payouts"
    poll_interval_seconds: float = 30.0
    # How long a payout may wait for confirmation at the provider before review (24 h).
    confirmation_wait_seconds: float = 86400.0
    log_level: str = "INFO"
    ledger: str = DEFAULT_LEDGER_KIND
    ledger_path: str = field(default_factory=lambda: str(default_home() / DEFAULT_LEDGER_FILE))
    ledger_url: str | None = None
    ledger_secret: str | None = field(default=None, repr=False)
    # PAYOUTS_LEDGER_DSN: the PostgreSQL ledger's connection string (may hold a password).
    ledger_dsn: str | None = field(default=None, repr=False)
    callback_url: str | None = None
    callback_secret: str | None = field(default=None, repr=False)
    callback_store: str = field(
        default_factory=lambda: str(default_home() / DEFAULT_CALLBACK_STORE)
    )
    callback_retry_hours: float = DEFAULT_CALLBACK_RETRY_HOURS
    payload_dir: str = field(default_factory=lambda: str(default_home() / DEFAULT_PAYLOAD_DIR))
    # PAYOUTS_PAYLOAD_STORE: `s3://bucket/prefix` for workers on several machines; None: the
    # local directory above.
    payload_store: str | None = None
    home: str = field(default_factory=lambda: str(default_home()))
    # The Temporal Web UI a started payout links to: <ui_url>/namespaces/<ns>/workflows/<id>.
    ui_url: str = DEFAULT_UI_URL
    # API key, TLS files and gRPC metadata from the SDK's environment configuration.
    temporal_access: TemporalAccess = field(default_factory=TemporalAccess)
    # PAYOUTS_ENCRYPTION_KEYS: payloads encrypted with the first, decoded with any (rotation).
    encryption_keys: tuple[EncryptionKey, ...] = field(default=(), repr=False)
    codec_token: str | None = field(default=None, repr=False)  # PAYOUTS_CODEC_TOKEN
    # PAYOUTS_PROVIDER_RATE: provider calls per second across all workers; None: no limit.
    provider_rate: float | None = None
    # PAYOUTS_DEPLOYMENT_NAME + PAYOUTS_BUILD_ID: a versioned worker (README, deploying new
    # code); None: an unversioned worker, as the local stack and the tests run.
    worker_version: WorkerDeploymentVersion | None = None
    # PAYOUTS_METRICS_PORT: where the Prometheus endpoint listens (host:port); None: no endpoint
    # (docs/observability.md).
    metrics_address: str | None = None
    # PAYOUTS_POLICY: the operator's policy file (TOML or YAML; docs/policy.md), checked here at
    # start and re-read by workers when it changes; None: no approvals, limits or screening.
    policy_path: Path | None = None
    # PAYOUTS_WEBHOOKS_FORWARD: `news` (the receiver signals only webhooks a saga acts on) or
    # `all` (every webhook, every provider step in the timeline); starter/service/webhook_news.py.
    webhooks_forward: str = "news"

    @property
    def credentials(self) -> CalypsoCredentials:
        return CalypsoCredentials(
            account=self.calypso_account,
            api_key=self.calypso_api_key,
            api_secret=self.calypso_api_secret,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        defaults = cls()

        def text(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        home = _home("PAYOUTS_HOME", env.get("PAYOUTS_HOME", ""))
        try:
            temporal = load_temporal_target(env, default_file=environ is None)
            encryption_keys = parse_keys(env.get("PAYOUTS_ENCRYPTION_KEYS", ""))
        except (TemporalConfigError, EncryptionKeyError) as error:
            raise SettingsError(str(error)) from None
        return cls(
            calypso_api_url=_url(
                "CALYPSO_API_URL", text("CALYPSO_API_URL", defaults.calypso_api_url)
            ),
            calypso_account=text("CALYPSO_ACCOUNT", defaults.calypso_account),
            calypso_api_key=text("CALYPSO_API_KEY", defaults.calypso_api_key),
            calypso_api_secret=text("CALYPSO_API_SECRET", defaults.calypso_api_secret),
            webhook_keys=_key_pairs("CALYPSO_WEBHOOK_KEYS", env.get("CALYPSO_WEBHOOK_KEYS", "")),
            temporal_address=_host_port(
                temporal.address_source, temporal.address or defaults.temporal_address
            ),
            temporal_namespace=temporal.namespace or defaults.temporal_namespace,
            task_queue=text("PAYOUTS_TASK_QUEUE", defaults.task_queue),
            poll_interval_seconds=_positive_seconds(
                "PAYOUTS_POLL_INTERVAL", env.get("PAYOUTS_POLL_INTERVAL", "").strip()
            )
            or defaults.poll_interval_seconds,
            confirmation_wait_seconds=_positive_seconds(
                "PAYOUTS_CONFIRMATION_WAIT", env.get("PAYOUTS_CONFIRMATION_WAIT", "").strip()
            )
            or defaults.confirmation_wait_seconds,
            log_level=_log_level(
                "PAYOUTS_LOG_LEVEL", text("PAYOUTS_LOG_LEVEL", defaults.log_level)
            ),
            ledger=text("PAYOUTS_LEDGER", defaults.ledger),
            ledger_path=_under_home(
                home, "PAYOUTS_LEDGER_PATH", text("PAYOUTS_LEDGER_PATH", DEFAULT_LEDGER_FILE)
            ),
            ledger_url=_optional_url("PAYOUTS_LEDGER_URL", env.get("PAYOUTS_LEDGER_URL", "")),
            ledger_secret=env.get("PAYOUTS_LEDGER_SECRET", "").strip() or None,
            ledger_dsn=env.get("PAYOUTS_LEDGER_DSN", "").strip() or None,
            callback_url=_optional_url("PAYOUTS_CALLBACK_URL", env.get("PAYOUTS_CALLBACK_URL", "")),
            callback_secret=env.get("PAYOUTS_CALLBACK_SECRET", "").strip() or None,
            callback_store=_under_home(
                home,
                "PAYOUTS_CALLBACK_STORE",
                text("PAYOUTS_CALLBACK_STORE", DEFAULT_CALLBACK_STORE),
            ),
            callback_retry_hours=_positive_hours(
                "PAYOUTS_CALLBACK_RETRY_HOURS", env.get("PAYOUTS_CALLBACK_RETRY_HOURS", "").strip()
            )
            or defaults.callback_retry_hours,
            payload_dir=_under_home(
                home, "PAYOUTS_PAYLOAD_DIR", text("PAYOUTS_PAYLOAD_DIR", DEFAULT_PAYLOAD_DIR)
            ),
            payload_store=_payload_store(env.get("PAYOUTS_PAYLOAD_STORE", "")),
            home=str(home),
            ui_url=_url("PAYOUTS_UI_URL", text("PAYOUTS_UI_URL", defaults.ui_url), DEFAULT_UI_URL),
            temporal_access=temporal.access,
            encryption_keys=encryption_keys,
            codec_token=env.get("PAYOUTS_CODEC_TOKEN", "").strip() or None,
            provider_rate=_positive_rate(
                "PAYOUTS_PROVIDER_RATE", env.get("PAYOUTS_PROVIDER_RATE", "").strip()
            ),
            worker_version=_deployment_version(
                env.get("PAYOUTS_DEPLOYMENT_NAME", ""), env.get("PAYOUTS_BUILD_ID", "")
            ),
            metrics_address=_metrics_address(
                "PAYOUTS_METRICS_PORT", env.get("PAYOUTS_METRICS_PORT", "")
            ),
            policy_path=policy_path_of(home, env.get("PAYOUTS_POLICY", "")),
            webhooks_forward=_choice(
                "PAYOUTS_WEBHOOKS_FORWARD", text("PAYOUTS_WEBHOOKS_FORWARD", "news"), FORWARD_MODES
            ),
        ).checked()

    def checked(self) -> Settings:
        """Rules across variables: settings that only make sense together. The ledger's rules
        are the ledger's own (`activities.ledger.settings`)."""
        try:
            ledger = ledger_kind(
                self.ledger, url=self.ledger_url, secret=self.ledger_secret, dsn=self.ledger_dsn
            )
        except LedgerSettingError as error:
            raise SettingsError(f"{error.variable}: {error.reason}") from None
        if self.policy_path is not None:
            check_policy_fits_ledger(self.policy_path, ledger)
        if self.callback_url and not self.callback_secret:
            raise SettingsError(
                "PAYOUTS_CALLBACK_SECRET: required when PAYOUTS_CALLBACK_URL is set"
            )
        return dataclasses.replace(self, ledger=ledger)
