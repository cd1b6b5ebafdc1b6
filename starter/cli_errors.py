"""The one exception CLI verbs raise for a clean, one-line failure."""

from __future__ import annotations


class CliError(Exception):
    """Printed as `payouts: <message>`; exit code 2 for bad input, 1 for operational failures."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
