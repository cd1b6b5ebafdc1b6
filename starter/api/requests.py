"""The public requests, the API's one check of them, and the saga input each one becomes.

The request models live with the sagas (`workflows/payout_models.py`, `workflows/mass_models.py`)
because each saga's input extends its request. `checked` is the only place the API checks a
request: `Payouts.start` and `MassPayouts.start` go through it, and so does the CLI, before it
connects, so bad input never waits on the network; `start` does not check that request again.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from calypso.currencies import FieldProblem
from starter.api.mass_rows import InvalidMassListError, RowProblem
from starter.service.settings import Settings
from workflows.mass_models import MassPayoutInput, MassPayoutRequest
from workflows.payout_models import PayoutInput, PayoutRequest, SagaOptions

RequestT = TypeVar("RequestT", PayoutRequest, MassPayoutRequest)
InputT = TypeVar("InputT", PayoutInput, MassPayoutInput)


class InvalidPayoutError(ValueError):
    """Raised before anything starts when a request cannot be paid; lists every problem."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def checked(request: RequestT) -> RequestT:
    """`request`, once it has passed the API's checks; needs no network.

    Raises `InvalidPayoutError` (a payout) or `InvalidMassListError` (a mass payout; its rows
    were checked when the list was built) listing every problem. A request is checked once: as
    with pydantic's own validation, a change made to it afterwards is not checked.
    """
    if request._checked:
        return request
    problems = request.problems()
    if problems and isinstance(request, MassPayoutRequest):
        raise InvalidMassListError([RowProblem(None, str(problem)) for problem in problems])
    if problems:
        raise InvalidPayoutError(problems)
    request._checked = True
    return request


def saga_input(input_type: type[InputT], request: SagaOptions, settings: Settings) -> InputT:
    """The saga's input for a checked request: the request as given, its key (a new one when
    absent), and the knobs from the settings."""
    return input_type(
        **{**dict(request), "idempotency_key": request.idempotency_key or uuid.uuid4()},
        poll_interval_seconds=settings.poll_interval_seconds,
        notify_merchant=settings.callback_url is not None,
    )
