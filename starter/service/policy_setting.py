"""PAYOUTS_POLICY: the policy file, read and checked when settings are read (one line per
problem, each naming the variable, the file and the line), and matched against the ledger: rules
that need the ledger's history (spending limits, new recipients) need an embedded one."""

from __future__ import annotations

from pathlib import Path

from activities.policy import PolicyFileError, load_policy
from starter.service.settings_values import SettingsError, _under_home

EMBEDDED_LEDGERS = ("sqlite", "postgres")


def policy_path_of(home: Path, value: str) -> Path | None:
    if not value.strip():
        return None
    path = Path(_under_home(home, "PAYOUTS_POLICY", value.strip()))
    if not path.is_file():
        raise SettingsError(f"PAYOUTS_POLICY: {path} is not a file")
    return path


def check_policy_fits_ledger(path: Path, ledger: str) -> None:
    try:
        policy = load_policy(path)
    except PolicyFileError as error:
        raise SettingsError(f"PAYOUTS_POLICY: {error}") from None
    if ledger in EMBEDDED_LEDGERS:
        return
    if policy.uses_paid_history or policy.uses_window_limits:
        raise SettingsError(
            "PAYOUTS_POLICY: spending limits and new-recipient approval need the ledger's "
            f"history; PAYOUTS_LEDGER={ledger} keeps none (use sqlite or postgres)"
        )
