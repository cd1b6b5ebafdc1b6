"""The `payouts` command line."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from rich.console import Console

from .logging import configure_logging
from .settings import Settings, SettingsError

app = typer.Typer(
    help="Durable payout sagas for Calypso Pay.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _settings() -> Settings:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return settings


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8710,
) -> None:
    """Run the Calypso Pay provider emulator (settings: SANDBOX_* variables, see the README)."""
    from sandbox.server import serve

    _settings()
    serve(host, port)


@app.command()
def demo() -> None:
    """Run one payout end to end on the embedded sandbox and print its signed webhooks."""
    from .demo_lifecycle import run_demo

    _settings()
    raise typer.Exit(asyncio.run(run_demo(Console())))


def main() -> None:
    """Console-script entry: bad settings end with one line naming the variable, exit 2."""
    try:
        app()
    except SettingsError as exc:
        print(f"payouts: {exc}", file=sys.stderr)
        sys.exit(2)
