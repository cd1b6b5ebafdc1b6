"""The timeline of a saga: what happened, from which source, in durable workflow time."""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.payout_models import TimelineEntry

MAX_ENTRIES = 200  # keeps the status query small even under a storm of duplicate webhooks


@dataclass
class Timeline:
    entries: list[TimelineEntry] = field(default_factory=list)

    def add(self, source: str, event: str, state: str | None, note: str | None) -> None:
        self.entries.append(
            TimelineEntry(at=workflow.now(), source=source, event=event, state=state, note=note)
        )
        if len(self.entries) > MAX_ENTRIES:
            self.entries.pop(0)

    def latest_note(self, source: str, event: str) -> str | None:
        """The note of the newest entry of this kind, e.g. why the saga is in its state."""
        for entry in reversed(self.entries):
            if entry.source == source and entry.event == event:
                return entry.note
        return None
