"""The `payouts` exit codes, in one table: what a script can tell from `$?` alone.

1 and 2 keep their meaning for every verb (the run itself went wrong, or the input did); the
verbs that report how a payout ended — `pay --wait`, `mass --wait`, `status` and `result` — exit
with the code of its final state, and 0 while it has not ended yet.
"""

from __future__ import annotations

from workflows.payout_models import SagaState

OK = 0
OPERATIONAL_FAILURE = 1  # Temporal unreachable, no worker, an unknown key, a refused operation
BAD_INPUT = 2  # a bad option, value or file: nothing was started

# Final saga state -> exit code. 0 is COMPLETED only; a payout that did not (fully) pay is never 0.
BY_FINAL_STATE: dict[SagaState, int] = {
    SagaState.COMPLETED: OK,
    SagaState.FAILED: 10,
    SagaState.REJECTED: 11,
    SagaState.CANCELED: 12,
    SagaState.PARTIAL: 13,
}


def of_state(state: SagaState) -> int:
    """The exit code for a payout in `state`: its final state's code, 0 while it runs."""
    return BY_FINAL_STATE.get(state, OK)


HELP = (
    "Exit codes: "
    + ", ".join(f"{code} {state}" for state, code in BY_FINAL_STATE.items())
    + f" (0 also while the payout has not ended); {OPERATIONAL_FAILURE} operational failure"
    f" (e.g. Temporal unreachable, no worker); {BAD_INPUT} bad input."
)
