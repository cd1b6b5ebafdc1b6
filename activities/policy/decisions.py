"""The policy's decisions about a payout, as pure functions of its rules and a few facts the
ledger knows: who may be paid, and why people must approve. Limits over a window are decided
by the ledger itself, atomically with the reservation (docs/ledger.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from activities.admission_models import AdmitInput, ApprovalNeed
from activities.policy.model import AccountRules


def refusals(rules: AccountRules, request: AdmitInput) -> tuple[dict[int, str], list[str]]:
    """Items the recipient lists refuse (index → why), and reasons to ask approval instead of
    refusing (a per-payout maximum with `over_limit = "approval"`)."""
    refused: dict[int, str] = {}
    approve: list[str] = []
    most = rules.limits.per_payout.get(request.currency)
    for item in request.items:
        if (why := rules.recipients.refusal(item.address)) is not None:
            refused[item.index] = why
        elif most is not None and item.amount > most:
            why = f"amount {item.amount} {request.currency} is above the per-payout limit {most}"
            if rules.limits.over_limit == "approval":
                approve.append(why if request.kind == "single" else f"item {item.index}: {why}")
            else:
                refused[item.index] = why
    return refused, approve


def approval_need(
    rules: AccountRules,
    request: AdmitInput,
    *,
    new_recipients: int,
    now: datetime,
    more_reasons: list[str],
) -> ApprovalNeed | None:
    """Whether people must approve this payout, how many, and why; None when nobody need."""
    approval = rules.approval
    currency, total = request.currency, request.total
    what = "amount" if request.kind == "single" else "list total"
    reasons = list(more_reasons)
    if approval.always:
        reasons.append("the policy asks approval for every payout")
    if (above := approval.above.get(currency)) is not None and total > above:
        reasons.append(f"{what} {total} {currency} is above the approval threshold {above}")
    if approval.new_recipient and new_recipients:
        reasons.append(
            "a recipient this sub-account has never paid"
            if new_recipients == 1
            else f"{new_recipients} recipients this sub-account has never paid"
        )
    days = approval.execution_date_beyond_days
    execution_date = request.execution_date
    if days is not None and execution_date and execution_date > now + timedelta(days=days):
        reasons.append(f"execution date is more than {days} days out")
    second = approval.second_approver_above.get(currency)
    two = second is not None and total > second
    if two:
        reasons.append(f"{what} {total} {currency} is above {second}: two approvers")
    if not reasons:
        return None
    return ApprovalNeed(
        approvers=2 if two else 1,
        reasons=reasons,
        expires_after_seconds=approval.expires_after.total_seconds(),
    )
