"""Fault injection: what goes wrong on purpose, as counters (reproducible) or seeded odds.

API faults hit /api/v1/* only (optionally only the listed `paths`); the control API is never
faulted. Webhook faults act on events as they are emitted."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.control_input import (
    ControlInputError,
    read_count,
    read_flag,
    read_fraction,
    read_text_list,
)


@dataclass
class FaultPlan:
    error_rate: float = 0.0
    seed: int = 0
    fail_next: int = 0
    latency_ms: int = 0
    commit_then_drop: int = 0
    paths: list[str] | None = None
    webhook_drop: int = 0
    webhook_drop_rate: float = 0.0
    webhook_duplicate: bool = False
    webhook_reorder: bool = False
    webhook_delay_ms: int = 0


# JSON name → (attribute, reader). One table keeps POST, GET and docs in step.
_FIELDS: dict[str, tuple[str, Any]] = {
    "errorRate": ("error_rate", read_fraction),
    "seed": ("seed", read_count),
    "failNext": ("fail_next", read_count),
    "latencyMs": ("latency_ms", read_count),
    "commitThenDrop": ("commit_then_drop", read_count),
    "webhookDrop": ("webhook_drop", read_count),
    "webhookDropRate": ("webhook_drop_rate", read_fraction),
    "webhookDuplicate": ("webhook_duplicate", read_flag),
    "webhookReorder": ("webhook_reorder", read_flag),
    "webhookDelayMs": ("webhook_delay_ms", read_count),
}


@dataclass
class Faults:
    plan: FaultPlan = field(default_factory=FaultPlan)
    _api_odds: random.Random = field(default_factory=lambda: random.Random(0))
    _webhook_odds: random.Random = field(default_factory=lambda: random.Random(0))

    def update(self, body: dict[str, Any]) -> None:
        """Apply the given fields and keep the others; validate everything before changing."""
        unknown = set(body) - set(_FIELDS) - {"paths"}
        if unknown:
            raise ControlInputError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        changes = {
            attr: reader(body, key) for key, (attr, reader) in _FIELDS.items() if key in body
        }
        if "paths" in body:
            changes["paths"] = None if body["paths"] is None else read_text_list(body, "paths")
        for attr, value in changes.items():
            setattr(self.plan, attr, value)
        if "seed" in body or "errorRate" in body or "webhookDropRate" in body:
            # Re-seeding whenever odds change makes "set errorRate + seed" replay identically.
            self._api_odds = random.Random(self.plan.seed)
            self._webhook_odds = random.Random(self.plan.seed)

    def reset(self) -> None:
        self.plan = FaultPlan()
        self._api_odds = random.Random(0)
        self._webhook_odds = random.Random(0)

    def describe(self) -> dict[str, Any]:
        values = asdict(self.plan)
        described = {key: values[attr] for key, (attr, _) in _FIELDS.items()}
        described["paths"] = values["paths"]
        return described

    def _targets(self, path: str) -> bool:
        return self.plan.paths is None or path in self.plan.paths

    def latency_seconds(self, path: str) -> float:
        return self.plan.latency_ms / 1000 if self._targets(path) else 0.0

    def take_failure(self, path: str) -> str | None:
        """Name of the fault that turns this API call into a 500 `000`, if any."""
        if not self._targets(path):
            return None
        if self.plan.fail_next > 0:
            self.plan.fail_next -= 1
            return "failNext"
        if self.plan.error_rate and self._api_odds.random() < self.plan.error_rate:
            return "errorRate"
        return None

    def take_drop(self, path: str) -> bool:
        """True when this committed state-changing call must never get its response."""
        if self.plan.commit_then_drop > 0 and self._targets(path):
            self.plan.commit_then_drop -= 1
            return True
        return False

    def take_webhook_drop(self) -> bool:
        if self.plan.webhook_drop > 0:
            self.plan.webhook_drop -= 1
            return True
        rate = self.plan.webhook_drop_rate
        return bool(rate) and self._webhook_odds.random() < rate


__all__ = ["ControlInputError", "FaultPlan", "Faults"]
