"""The operator's policy file (`PAYOUTS_POLICY`): approvals, spending limits and recipient
screening per ledger sub-account. docs/policy.md is the reference; README has a worked file."""

from activities.policy.loading import PolicyFileError, PolicySource, load_policy
from activities.policy.model import AccountRules, Policy

__all__ = ["AccountRules", "Policy", "PolicyFileError", "PolicySource", "load_policy"]
