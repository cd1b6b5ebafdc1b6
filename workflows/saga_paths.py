"""Which path a saga takes through the code: one patch for the current path, the older patches
for sagas recorded before it.

Every change that altered a running saga's commands sits behind `workflow.patched` (listed in
docs/architecture.md). A saga that asks each of them records a marker and core's
`TemporalChangeVersion` upsert per patch: two history events apiece on every new payout. The
current path implies every earlier patch, so a saga started now asks `patched` once, first
thing in its run (`begin`), and the older questions (`taken`) answer from that memoized answer
without a marker of their own; a saga recorded before it replays each older patch as before.

The current path also runs a saga's short steps as local activities and decides on the clock
only at a wake-up, where every replay sees the same time (`docs/architecture.md`).
Deterministic: runs in workflows.
"""

from __future__ import annotations

from temporalio import workflow

CURRENT_PATH = "clock-at-wake-ups-short-steps-local"


def begin() -> bool:
    """The first call of every saga's run: whether it is on the current path. Must come before
    any `taken` or `current`, which then read this answer (`workflow.patched` memoizes it)."""
    return workflow.patched(CURRENT_PATH)


def current() -> bool:
    """Whether this saga is on the current path (`begin` was asked first)."""
    return workflow.patched(CURRENT_PATH)


def taken(patch_id: str) -> bool:
    """Whether an older change applies: always on the current path, else as it was recorded."""
    return workflow.patched(CURRENT_PATH) or workflow.patched(patch_id)
