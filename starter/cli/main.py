"""The `payouts` command line: one console script, one verb per job, `--help` everywhere."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer

from starter.cli import mass as cli_mass
from starter.cli import payouts as cli_payouts
from starter.cli.common import CliError, bounded
from starter.cli.output import console
from starter.service.logging import configure_logging
from starter.service.settings import Settings, SettingsError

app = typer.Typer(
    help="Durable payout sagas for Calypso Pay, run as Temporal workflows.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
cli_payouts.register(app)
cli_mass.register(app)


def _settings() -> Settings:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return settings


@app.command()
def worker() -> None:
    """Run a worker: executes payout workflows and their activities on PAYOUTS_TASK_QUEUE."""
    from starter.service.temporal_client import connect
    from starter.service.worker import run_worker

    settings = _settings()

    async def run() -> None:
        await run_worker(await connect(settings), settings)

    asyncio.run(run())


@app.command()
def webhooks(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (1-65535).")] = 8711,
) -> None:
    """Run the webhook receiver: POST /webhooks/calypso → a signal to the payout saga."""
    bounded("port", port, 1, 65535)
    import uvicorn

    from starter.service.temporal_client import connect
    from starter.service.webhook_receiver import create_receiver_app

    settings = _settings()
    if not settings.webhook_keys:
        raise CliError("CALYPSO_WEBHOOK_KEYS: set at least one publicKey:secretKey pair")

    async def run() -> None:
        receiver = create_receiver_app(await connect(settings), settings.webhook_keys)
        await uvicorn.Server(uvicorn.Config(receiver, host=host, port=port)).serve()

    asyncio.run(run())


@app.command()
def setup() -> None:
    """Register the saga's search attributes in TEMPORAL_NAMESPACE (safe to run again)."""
    from starter.service.search_attribute_setup import register_search_attributes
    from starter.service.temporal_client import connect

    settings = _settings()

    async def run() -> list[str]:
        return await register_search_attributes(
            await connect(settings), settings.temporal_namespace
        )

    added = asyncio.run(run())
    console.print(f"search attributes added: {', '.join(added)}" if added else "already set up")


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (1-65535).")] = 8710,
) -> None:
    """Run the Calypso Pay provider emulator (SANDBOX_* settings, see docs/sandbox.md)."""
    bounded("port", port, 1, 65535)
    from sandbox.server import serve

    _settings()
    serve(host, port)


@app.command()
def dev() -> None:
    """Keep a local stack up until Ctrl-C: Temporal dev server + UI, sandbox, receiver, worker."""
    from starter.local.local_stack import local_stack

    settings = _settings()

    async def run() -> None:
        async with local_stack(settings) as stack:
            console.print(
                f"Temporal UI  {stack.ui_url}\nreceiver     {stack.receiver_url}/webhooks/calypso\n"
                f"sandbox      {settings.calypso_api_url}\nCtrl-C to stop."
            )
            await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def demo() -> None:
    """Run the demo: payouts to COMPLETED, rescheduled-then-canceled, and failed-and-compensated."""
    from starter.local.demo import run_demo

    settings = Settings.from_env()
    # The demo prints its own story; service logs would drown it unless asked for.
    configure_logging(settings.log_level if "PAYOUTS_LOG_LEVEL" in os.environ else "WARNING")
    raise typer.Exit(asyncio.run(run_demo(settings)))


def main() -> None:
    """Console-script entry: any bad input ends with one line naming the problem."""
    _exit(_run_app())


def _run_app() -> int:
    try:
        code = app(standalone_mode=False)
    except (SettingsError, CliError) as exc:
        print(f"payouts: {exc}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except typer.Abort:
        return 130
    except typer.TyperException as exc:  # usage errors: unknown verb, missing or bad option
        format_message = getattr(exc, "format_message", None)
        message = format_message() if format_message else str(exc)
        print(f"payouts: {message}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    return code if isinstance(code, int) else 0


def _exit(code: int) -> None:
    """Leave without interpreter teardown: after a failed connect, the Temporal SDK's core thread
    can race Python's shutdown and abort the process (exit 134) instead of returning our code.
    Every resource is closed by now; only buffered output needs flushing."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
