"""Sandbox settings: read once from the environment, or built explicitly by tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

DEFAULT_PORT = 8710


class SandboxSettingsError(ValueError):
    """Raised when an environment variable holds a value the sandbox cannot use."""


@dataclass(frozen=True)
class SandboxSettings:
    """Start-up settings of the emulator; everything here can be changed later via /sandbox."""

    account: str = "sandbox-account"
    api_key: str = "sandbox-public-key"
    api_secret: str = "sandbox-secret-key"  # noqa: S105 - a documented demo default
    initial_balance: Decimal = Decimal("1000000")
    step_delay_seconds: float = 0.2
    webhook_time_scale: float = 1.0
    verification: bool = False

    def __post_init__(self) -> None:
        for name in ("account", "api_key", "api_secret"):
            if not getattr(self, name):
                raise SandboxSettingsError(f"{name} must not be empty")
        if self.initial_balance < 0:
            raise SandboxSettingsError("initial_balance must be >= 0")
        if self.step_delay_seconds < 0:
            raise SandboxSettingsError("step_delay_seconds must be >= 0")
        if self.webhook_time_scale <= 0:
            raise SandboxSettingsError("webhook_time_scale must be > 0")

    def __repr__(self) -> str:
        # The secret must never reach a log line or a traceback through repr().
        return (
            f"SandboxSettings(account={self.account!r}, api_key={self.api_key!r}, "
            f"api_secret='***', initial_balance={self.initial_balance}, "
            f"step_delay_seconds={self.step_delay_seconds}, "
            f"webhook_time_scale={self.webhook_time_scale}, verification={self.verification})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxSettings:
        """Build settings from SANDBOX_* variables; a bad value names its variable."""
        env = os.environ if environ is None else environ
        defaults = cls()
        return cls(
            account=_text(env, "SANDBOX_ACCOUNT", defaults.account),
            api_key=_text(env, "SANDBOX_API_KEY", defaults.api_key),
            api_secret=_text(env, "SANDBOX_API_SECRET", defaults.api_secret),
            initial_balance=_decimal(env, "SANDBOX_INITIAL_BALANCE", defaults.initial_balance),
            step_delay_seconds=_number(env, "SANDBOX_STEP_DELAY", defaults.step_delay_seconds, 0),
            webhook_time_scale=_positive(
                env, "SANDBOX_WEBHOOK_TIME_SCALE", defaults.webhook_time_scale
            ),
            verification=_flag(env, "SANDBOX_VERIFICATION", defaults.verification),
        )


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name)
    if value is None:
        return default
    if not value.strip():
        raise SandboxSettingsError(f"{name} must not be empty")
    return value.strip()


def _decimal(env: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise SandboxSettingsError(f"{name} must be a decimal number, got {raw!r}") from None
    if not value.is_finite() or value < 0:
        raise SandboxSettingsError(f"{name} must be a finite number >= 0, got {raw!r}")
    return value


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SandboxSettingsError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum or value == float("inf"):
        raise SandboxSettingsError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
    return value


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    value = _number(env, name, default, 0)
    if value == 0:
        raise SandboxSettingsError(f"{name} must be greater than 0")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SandboxSettingsError(f"{name} must be true or false, got {raw!r}")
