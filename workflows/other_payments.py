"""Resending only what is certainly unpaid: the patch that added the check, and how a skipped
resend is explained. The check itself is an activity (`activities/other_payments.py`).

Resending in the provider's UI and resending here are mutually exclusive: a recipient the
provider is already paying, or has paid, since the saga started is never sent again by the saga.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.other_payments import OtherPayment, OtherPayments, OtherPaymentsInput
    from activities.payout_activities import PayoutActivities
    from workflows import saga_paths
    from workflows.activity_options import CALL
    from workflows.payout_models import Attempt

CHECK_BEFORE_RESEND = "check-provider-before-resend"


async def other_payments(currency: str, addresses: list[str], ours: list[Attempt]) -> OtherPayments:
    """What the provider has for `addresses` since this saga started, besides our attempts.
    Sagas recorded before the check existed resend without it (nothing found)."""
    if not saga_paths.taken(CHECK_BEFORE_RESEND):
        return OtherPayments()
    return await workflow.execute_activity_method(
        PayoutActivities.find_other_payments,
        OtherPaymentsInput(
            currency=currency,
            addresses=addresses,
            since=workflow.info().start_time,
            our_keys=[attempt.provider_key for attempt in ours],
        ),
        **CALL,
    )


def describe_other(other: OtherPayment) -> str:
    return (
        f"the provider already has {other.kind} {other.provider_id} ({other.state}) to "
        f"{other.address} since this payout started, e.g. a resend in the provider's UI"
    )
