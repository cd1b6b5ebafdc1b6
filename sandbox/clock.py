"""The sandbox's virtual clock: real UTC time plus an offset that only ever moves forward.

It decides when a future `executionDate` is reached and stamps `createdDate`; the ±3 minute
request-timestamp check deliberately uses the real clock instead (see sandbox.auth)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class VirtualClock:
    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the virtual clock only moves forward")
        self._offset += timedelta(seconds=seconds)

    def reset(self) -> None:
        self._offset = timedelta(0)


def iso_utc(moment: datetime) -> str:
    """ISO-8601 in UTC with millisecond precision and a Z suffix, as the provider writes dates."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
