"""The public requests, the API's one check of them, and the saga input each one becomes.

The request models live with the sagas (`workflows/payout_models.py`, `workflows/mass_models.py`)
because each saga's input extends its request. `checked` is the only place the API checks a
request: `Payouts.start` and `MassPayouts.start` go through it, and so does the CLI, before it
connects, so bad input never waits on the network; `start` does not check that request again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from calypso.currencies import FieldProblem
from starter.api.mass_rows import InvalidMassListError, RowProblem
from starter.service.settings import Settings
from workflows.mass_models import MassPayoutInput, MassPayoutRequest
from workflows.payout_models import PayoutInput, PayoutRequest, SagaOptions

# A date typed as "now" is a few seconds old by the time it is checked; anything older than this
# is a mistake (a wrong year, a stale script), not a request to pay at once.
PAST_GRACE = timedelta(minutes=1)

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
    were checked when the list was built) listing every problem, among them an execution date
    more than `PAST_GRACE` in the past (named with the current time). A request is checked once:
    as with pydantic's own validation, a change made to it afterwards is not checked.
    """
    if request._checked:
        return request
    problems = request.problems() + _not_in_the_past(request.execution_date)
    if problems and isinstance(request, MassPayoutRequest):
        raise InvalidMassListError([RowProblem(None, str(problem)) for problem in problems])
    if problems:
        raise InvalidPayoutError(problems)
    request._checked = True
    return request


def _not_in_the_past(when: datetime | None) -> list[FieldProblem]:
    """A start's execution date must not have passed (a naive one is `problems()`'s to refuse).

    Only the API refuses it, when a person or a service asks: a saga's own input check accepts a
    past date as "now", so a saga that waited (or a replay) is never refused after the fact."""
    if when is None or when.tzinfo is None:
        return []
    now = datetime.now(UTC)
    if when >= now - PAST_GRACE:
        return []
    return [
        FieldProblem(
            "execution_date",
            f"{when.isoformat()} is in the past (now is {now.isoformat(timespec='seconds')});"
            " leave it out to pay now",
        )
    ]


def saga_input(input_type: type[InputT], request: SagaOptions, settings: Settings) -> InputT:
    """The saga's input for a checked request: the request as given, its key (a new one when
    absent), and the knobs from the settings."""
    return input_type(
        **{**dict(request), "idempotency_key": request.idempotency_key or uuid.uuid4()},
        poll_interval_seconds=settings.poll_interval_seconds,
        notify_merchant=settings.callback_url is not None,
        confirmation_wait_seconds=settings.confirmation_wait_seconds,
    )
