"""How benchmark figures are printed, run alone (`python -m bench.<name>`) or by `make bench`."""

from __future__ import annotations

from collections.abc import Callable

from starter.service.logging import configure_logging


def show(figures: dict[str, str]) -> None:
    for name, value in figures.items():
        print(f"{name:>10}: {value}")


def run_alone(run: Callable[[], dict[str, str]]) -> None:
    configure_logging("WARNING")  # the sandbox logs every request; only figures belong here
    show(run())
