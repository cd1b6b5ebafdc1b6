"""Admission: the policy's checks and the ledger's reservation as one step, the first a saga
takes after validating its request. One activity for a single payout, one per batch of items
for a mass payout: the same code decides both.

Recipient lists and per-payout maximums refuse items before anything is reserved; spending
limits over a window are enforced by the ledger inside the reservation's transaction, so
concurrent sagas cannot pass a limit together; approval rules say who must approve and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.admission_models import Admission, AdmitInput
from activities.boundary import as_application_errors
from activities.ledger import Ledger, ReserveRequest
from activities.ledger.errors import SpendingLimitExceededError
from activities.ledger.protocol import LedgerInsights
from activities.policy import PolicySource
from activities.policy.decisions import approval_need, refusals
from activities.policy.model import AccountRules

log = structlog.get_logger()


class AdmissionActivities:
    def __init__(self, ledger: Ledger, policy: PolicySource) -> None:
        self._ledger = ledger
        self._policy = policy

    @activity.defn
    async def admit_payout(self, request: AdmitInput) -> Admission:
        try:
            policy = self._policy.current()
        except ValueError as error:
            # Retried: the saga waits for a readable policy rather than pay without one.
            raise ApplicationError(str(error), type="PolicyFileError") from error
        rules = policy.rules_for(request.sub_account)
        version = policy.version or "none"
        denied, approve_instead = refusals(rules, request)
        if request.kind == "single" and denied:
            return Admission(policy_version=version, rejected=denied[0])
        with as_application_errors():
            limit_hit = await self._reserve(rules, request, denied, enforce_limits=True)
            if limit_hit is not None:
                if rules.limits.over_limit == "reject":
                    return Admission(policy_version=version, rejected=limit_hit)
                approve_instead.append(limit_hit)
                await self._reserve(rules, request, denied, enforce_limits=False)
            new = await self._new_recipients(rules, request, denied)
        need = approval_need(
            rules,
            request,
            new_recipients=new,
            now=activity.info().current_attempt_scheduled_time,
            more_reasons=approve_instead,
        )
        log.info(
            "payout.admitted",
            payout_key=request.payout_key,
            policy=version,
            denied=len(denied),
            approval=need.approvers if need else 0,
        )
        return Admission(
            policy_version=version,
            denied=denied,
            approval=need,
            approval_expires_after_seconds=rules.approval.expires_after.total_seconds(),
            screening=rules.screening,
        )

    async def _reserve(
        self,
        rules: AccountRules,
        request: AdmitInput,
        denied: dict[int, str],
        *,
        enforce_limits: bool,
    ) -> str | None:
        """Reserve every item not denied, in one transaction; the limit's words when one
        would be passed (nothing is then reserved)."""
        limits = (
            [limit.as_ledger_limit() for limit in rules.limits.windows_for(request.currency)]
            if enforce_limits
            else []
        )
        reservations = [
            ReserveRequest(
                key=item.ledger_key,
                sub_account=request.sub_account,
                currency=request.currency,
                amount=item.amount,
                address=item.address,
                limits=limits,
            )
            for item in request.items
            if item.index not in denied
        ]
        if not reservations:
            return None
        try:
            await self._ledger.apply_many(reservations)
        except SpendingLimitExceededError as hit:
            return str(hit)
        return None

    async def _new_recipients(
        self, rules: AccountRules, request: AdmitInput, denied: dict[int, str]
    ) -> int:
        if not rules.approval.new_recipient:
            return 0
        addresses = {item.address for item in request.items if item.index not in denied}
        # Every adapter has the insights; those that keep no history refuse (docs/ledger.md).
        paid_before = cast(LedgerInsights, self._ledger).paid_before
        return sum([not await paid_before(request.sub_account, a) for a in sorted(addresses)])

    def all(self) -> list[Callable[..., Any]]:
        return [self.admit_payout]
