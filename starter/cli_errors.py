"""The one exception CLI verbs raise for a clean, one-line failure."""

from __future__ import annotations


class CliError(Exception):
    """Printed as `payouts: <message>`; exit code 2 for bad input, 1 for operational failures."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def bounded(name: str, value: float, low: float, high: float | None = None) -> None:
    """Refuse an option outside [low, high] with a one-line reason naming it."""
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise CliError(f"{name}: must be {span}, got {value:g}")
