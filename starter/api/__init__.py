"""The Python API for backend services: start, inspect, cancel and reschedule payout sagas.

from starter.api import Payouts, PayoutRequest
payouts = await Payouts.connect()
key = await payouts.start(PayoutRequest(deposit_address=..., amount=Decimal("25"), ...))
"""

from starter.api.approvals import ApprovalRefusedError
from starter.api.errors import PayoutEndedError, PayoutNotFoundError
from starter.api.idempotent_start import KeyReusedError
from starter.api.mass import MassPayouts, MassPreview, recipients_from_rows
from starter.api.mass_csv import parse_mass_csv
from starter.api.mass_rows import InvalidMassListError
from starter.api.payouts import Payouts, PayoutSummary
from starter.api.requests import InvalidPayoutError, checked
from starter.api.schedule_views import (
    InvalidScheduleError,
    ScheduleExistsError,
    ScheduleNotFoundError,
    ScheduleView,
)
from starter.api.schedules import PayoutSchedules, ScheduleTiming
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
from workflows.mass_models import MassPayoutRequest, Recipients
from workflows.payout_models import PayoutRequest, ResendPolicy
from workflows.recurring_models import Overlap

__all__ = [
    "ApprovalRefusedError",
    "ApprovalResult",
    "ApproveInput",
    "DenyInput",
    "InvalidMassListError",
    "InvalidPayoutError",
    "InvalidScheduleError",
    "KeyReusedError",
    "MassPayoutRequest",
    "MassPayouts",
    "MassPreview",
    "Overlap",
    "PayoutEndedError",
    "PayoutNotFoundError",
    "PayoutRequest",
    "PayoutSchedules",
    "PayoutSummary",
    "Payouts",
    "Recipients",
    "ResendPolicy",
    "ScheduleExistsError",
    "ScheduleNotFoundError",
    "ScheduleTiming",
    "ScheduleView",
    "checked",
    "parse_mass_csv",
    "recipients_from_rows",
]
