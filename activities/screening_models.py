"""Input and output of the recipient screening activity (docs/screening.md).

Plain models with no I/O, so workflow code may import them (inside
`workflow.unsafe.imports_passed_through()`, like the other activity models). The request carries
the hook's URL and the *name* of the environment variable that holds its HMAC secret: the secret
itself is read on the worker and never enters workflow history.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from calypso.models import Money

SCREEN_RECIPIENTS = "screen_recipients"  # the activity's name, recorded in histories: never change

Decision = Literal["allow", "deny", "review"]


class ScreenedRecipient(BaseModel):
    """One recipient to screen; `index` is the caller's id for it (e.g. its row in the list)."""

    index: int
    address: str
    amount: Money


class ScreeningRequest(BaseModel):
    """Screen `recipients` of one payout with the hook at `url`, `chunk_size` per POST."""

    payout_key: str
    kind: Literal["single", "mass"]
    currency: str
    sub_account: str
    url: str
    secret_env: str  # the NAME of the worker's environment variable holding the HMAC secret
    timeout_seconds: float = 10  # for each POST, from connecting to the last byte of the reply
    chunk_size: int = 500
    recipients: list[ScreenedRecipient]


class ScreeningDecision(BaseModel):
    """The hook's decision on one recipient."""

    index: int
    decision: Decision
    reason: str | None = None


class ScreeningResult(BaseModel):
    """One decision per recipient sent, in the order of `ScreeningRequest.recipients`."""

    decisions: list[ScreeningDecision]
