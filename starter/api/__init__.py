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
from workflows.approval_models import ApprovalResult, ApproveInput, DenyInput
from workflows.mass_models import MassPayoutRequest, Recipients
from workflows.payout_models import PayoutRequest, ResendPolicy

__all__ = [
    "ApprovalRefusedError",
    "ApprovalResult",
    "ApproveInput",
    "DenyInput",
    "InvalidMassListError",
    "InvalidPayoutError",
    "KeyReusedError",
    "MassPayoutRequest",
    "MassPayouts",
    "MassPreview",
    "PayoutEndedError",
    "PayoutNotFoundError",
    "PayoutRequest",
    "PayoutSummary",
    "Payouts",
    "Recipients",
    "ResendPolicy",
    "checked",
    "parse_mass_csv",
    "recipients_from_rows",
]
