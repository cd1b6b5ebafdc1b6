"""Business keys: workflow ids and the provider idempotency keys of deliberate resends.

Attempt 0 sends the saga's own key. A resend (attempt n > 0) needs a new provider key that is
derived deterministically — never random, never from run ids — and that the webhook receiver can
route back to the saga without any lookup table. XOR with a fixed per-attempt mask does both:
`attempt_key(attempt_key(k, n), n) == k`, so the receiver tries `n = 0..MAX_ATTEMPTS` on the key a
webhook carries. The mask leaves the version and variant bits alone, so a derived key is as valid
a UUID as the original; masks come from uuid5, so sequential user keys cannot collide with them.
"""

from __future__ import annotations

import uuid

MAX_ATTEMPTS = 10  # resends per saga, including the first send
_NAMESPACE = uuid.UUID("6f1d5d8e-6a43-4b7e-9d0e-3f0a2c1b9e57")
_KEEP_VERSION_AND_VARIANT = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)


def _mask(attempt: int) -> int:
    if attempt == 0:
        return 0
    return uuid.uuid5(_NAMESPACE, f"attempt-{attempt}").int & _KEEP_VERSION_AND_VARIANT


def attempt_key(key: uuid.UUID, attempt: int) -> uuid.UUID:
    """The provider idempotency key of `attempt` (0 = the first send) of the saga `key`."""
    if not 0 <= attempt < MAX_ATTEMPTS:
        raise ValueError(f"attempt must be in 0..{MAX_ATTEMPTS - 1}, got {attempt}")
    return uuid.UUID(int=key.int ^ _mask(attempt))


def candidate_saga_keys(provider_key: uuid.UUID) -> list[uuid.UUID]:
    """Saga keys that could have produced `provider_key`, most likely (attempt 0) first."""
    return [attempt_key(provider_key, attempt) for attempt in range(MAX_ATTEMPTS)]


def single_payout_workflow_id(key: uuid.UUID) -> str:
    return f"payout-{key}"


def mass_payout_workflow_id(key: uuid.UUID) -> str:
    return f"mass-payout-{key}"


def mass_deal_key(mass_key: uuid.UUID, deal_index: int) -> uuid.UUID:
    """The provider key of deal `deal_index`'s first attempt; resends derive from it."""
    return uuid.uuid5(mass_key, f"deal-{deal_index}")


def mass_deal_workflow_id(deal_key: uuid.UUID) -> str:
    return f"mass-deal-{deal_key}"


def saga_workflow_ids(provider_key: uuid.UUID) -> list[str]:
    """Every workflow that may have sent `provider_key`, most likely first."""
    ids = []
    for saga_key in candidate_saga_keys(provider_key):
        ids += [single_payout_workflow_id(saga_key), mass_deal_workflow_id(saga_key)]
    return ids


# The signal a webhook becomes: the receiver sends it, the single payout and the mass deal
# handle it. Its name is part of every recorded history.
PROVIDER_EVENT_SIGNAL = "provider_event"
# A mass deal tells its parent that it waits for review, or no longer does.
DEAL_REVIEW_SIGNAL = "deal_review"
