"""Following a provider payout: its state only moves forward, whatever order hints arrive in.

Webhooks may be duplicated, late or out of order; polls may race them. Every observation goes
through `observe`, which accepts a state only if it is further along than the current one; a
state the client does not know is never accepted. Deterministic: used inside workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from calypso.models import FINAL_PAYOUT_STATES, PayoutState

# Rank of each provider state: a later stage has a higher rank; all final states share the top.
_RANK = {
    PayoutState.CREATION_IN_PROGRESS: 0,
    PayoutState.CREATED: 0,
    PayoutState.PENDING_CONFIRMATION: 1,
    PayoutState.CONFIRMED: 2,
    PayoutState.IN_PROGRESS: 3,
    **{state: 4 for state in FINAL_PAYOUT_STATES},
}


@dataclass
class ProviderTracker:
    """The furthest provider state seen for one provider payout, and the hints already seen."""

    state: str | None = None
    _seen: set[tuple[str, str | None, str | None]] = field(default_factory=set)

    def is_duplicate(self, kind: str, state: str | None, tx_hash: str | None) -> bool:
        """Whether this exact hint was seen before (and remember it)."""
        marker = (kind, state, tx_hash)
        if marker in self._seen:
            return True
        self._seen.add(marker)
        return False

    def observe(self, state: str | None) -> bool:
        """Move to `state` if it is further along; return whether it moved."""
        if state is None or state not in _RANK:
            return False
        if self.state is not None and _RANK[PayoutState(state)] <= _RANK[PayoutState(self.state)]:
            return False
        self.state = state
        return True

    @property
    def final(self) -> bool:
        return self.state in FINAL_PAYOUT_STATES
