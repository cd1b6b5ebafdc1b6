"""Following a provider payout: its state only moves forward, whatever order hints arrive in.

Webhooks may be duplicated, late or out of order; polls may race them. Every observation goes
through `observe`, which accepts a state only if it is further along than the current one, and
records everything else as ignored in the timeline. Deterministic: used inside workflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Rank of each provider state: a later stage has a higher rank; all final states share the top.
_RANK = {
    "CREATION_IN_PROGRESS": 0,
    "CREATED": 0,
    "PENDING_CONFIRMATION": 1,
    "CONFIRMED": 2,
    "IN_PROGRESS": 3,
    "COMPLETED": 4,
    "FAILED": 4,
    "CANCELED": 4,
    "PARTIAL": 4,
}
FINAL_PROVIDER_STATES = frozenset(state for state, rank in _RANK.items() if rank == 4)


@dataclass
class ProviderTracker:
    """The furthest provider state seen for one provider payout, and the tx hash."""

    state: str | None = None
    tx_hash: str | None = None
    validation_error: bool = False
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
        if self.state is not None and _RANK[state] <= _RANK[self.state]:
            return False
        self.state = state
        return True

    @property
    def final(self) -> bool:
        return self.state in FINAL_PROVIDER_STATES
