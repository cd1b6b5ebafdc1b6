"""Which path a saga takes through the code: one patch for the current path, one for each path
before it, and the older single-change patches for sagas recorded before those.

Every change that altered a running saga's commands sits behind `workflow.patched` (listed in
docs/architecture.md). A saga that asks each of them records a marker and core's
`TemporalChangeVersion` upsert per patch: two history events apiece on every new payout. A path
implies every change before it, so a saga started now asks `patched` once, first thing in its
run (`begin`), and the older questions (`taken`) answer from that memoized answer without a
marker of their own; a saga recorded before it replays each older patch as before.

The paths, newest first:
- `create-in-the-first-task`: the create is a local activity too, so an immediate payout is
  admitted, checked and sent in its first workflow task.
- `clock-at-wake-ups-short-steps-local`: admission, the funds check and every read after the
  create run as local activities, and the saga decides on the clock only at a wake-up, where
  every replay sees the same time (`docs/architecture.md`).
Deterministic: runs in workflows.
"""

from __future__ import annotations

from temporalio import workflow

CURRENT_PATH = "create-in-the-first-task"
CLOCK_AT_WAKE_UPS = "clock-at-wake-ups-short-steps-local"
_PATHS = (CURRENT_PATH, CLOCK_AT_WAKE_UPS)  # newest first; each implies the ones after it


def begin() -> None:
    """The first call of every saga's run, before any `taken` or `current`: asks the paths
    newest first until one is taken, as the saga asked them when it was recorded (a saga of
    the previous path asked for it first thing too). `workflow.patched` memoizes each answer."""
    for path in _PATHS:
        if workflow.patched(path):
            return


def current() -> bool:
    """Whether this saga is on the current path (`begin` was asked first)."""
    return workflow.patched(CURRENT_PATH)


def taken(patch_id: str) -> bool:
    """Whether an older change (or an older path) applies: always on a path that implies it,
    else as it was recorded."""
    return any(workflow.patched(path) for path in _PATHS) or workflow.patched(patch_id)


def clock_at_wake_ups() -> bool:
    """Whether the saga reads the clock only at wake-ups and runs its short steps locally: the
    current path and the one before it."""
    return taken(CLOCK_AT_WAKE_UPS)
