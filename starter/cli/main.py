"""The `payouts` command line: one console script, one verb per job, `--help` everywhere."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from starter.cli import approvals as cli_approvals
from starter.cli import callbacks as cli_callbacks
from starter.cli import ledger as cli_ledger
from starter.cli import mass as cli_mass
from starter.cli import mass_progress as cli_mass_progress
from starter.cli import payouts as cli_payouts
from starter.cli import reconcile as cli_reconcile
from starter.cli import resolve as cli_resolve
from starter.cli import schedule as cli_schedule
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
cli_mass_progress.register(app)
cli_ledger.register(app)
cli_reconcile.register(app)
cli_resolve.register(app)
cli_approvals.register(app)
cli_callbacks.register(app)
cli_schedule.register(app)


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
        receiver = create_receiver_app(
            await connect(settings), settings.webhook_keys, forward=settings.webhooks_forward
        )
        await uvicorn.Server(uvicorn.Config(receiver, host=host, port=port)).serve()

    asyncio.run(run())


@app.command("codec-server")
def codec_server(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (1-65535).")] = 8888,
    ui_origin: Annotated[
        list[str], typer.Option(help="Origin of the Temporal Web UI allowed to call (CORS).")
    ] = ["http://127.0.0.1:8233"],  # noqa: B006 - typer reads the default, never mutates it
    token_env: Annotated[
        str, typer.Option(help="Variable holding the bearer token callers must send.")
    ] = "PAYOUTS_CODEC_TOKEN",  # noqa: S107 - a variable's name, not a token
) -> None:
    """Serve the Temporal UI's remote codec (POST /encode, /decode) with PAYOUTS_ENCRYPTION_KEYS."""
    bounded("port", port, 1, 65535)
    import uvicorn

    from starter.service.codec_server import create_codec_app
    from starter.service.encryption import EncryptionCodec

    for origin in ui_origin:
        if not origin.startswith(("http://", "https://")) or origin.count("/") > 3:
            raise CliError(
                f"ui-origin: expected an origin such as http://127.0.0.1:8233, got {origin!r}"
            )
    settings = _settings()
    if not settings.encryption_keys:
        raise CliError("PAYOUTS_ENCRYPTION_KEYS: set at least one keyId:base64key")
    # PAYOUTS_CODEC_TOKEN by default (`Settings.codec_token`); another variable if named.
    token = os.environ.get(token_env, "").strip() or None
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        warning = f"{token_env} is not set: anyone reaching {host}:{port} can decode"
        print(f"payouts: warning: {warning}", file=sys.stderr)
    app_ = create_codec_app(EncryptionCodec(settings.encryption_keys), ui_origin, token)
    uvicorn.run(app_, host=host, port=port, log_level=settings.log_level.lower())


@app.command()
def setup(
    reconcile_every: Annotated[
        str | None,
        typer.Option(
            help="Reconcile every interval (1h, 30m, 1h30m) as the Temporal Schedule "
            "payouts-reconcile, created or updated; `off` deletes it."
        ),
    ] = None,
) -> None:
    """Register the saga's search attributes in TEMPORAL_NAMESPACE (safe to run again), and
    set the reconciliation schedule when --reconcile-every is given."""
    from starter.service.reconcile_schedule import set_reconcile_schedule
    from starter.service.search_attribute_setup import register_search_attributes
    from starter.service.temporal_client import connect

    every = cli_reconcile.every_of(reconcile_every) if reconcile_every is not None else None
    settings = _settings()

    async def run() -> tuple[list[str], str | None]:
        client = await connect(settings)
        added = await register_search_attributes(client, settings.temporal_namespace)
        if reconcile_every is None:
            return added, None
        return added, await set_reconcile_schedule(client, settings.task_queue, every)

    added, schedule = asyncio.run(run())
    console.print(f"search attributes added: {', '.join(added)}" if added else "already set up")
    if schedule is not None:
        console.print(schedule, soft_wrap=True)


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
def dev(
    ui_port: Annotated[int, typer.Option(help="Port of the Temporal Web UI.")] = 8233,
    receiver_port: Annotated[int, typer.Option(help="Port of the webhook receiver.")] = 8711,
    sandbox_port: Annotated[
        int, typer.Option(help="Port of the embedded sandbox (with the default CALYPSO_API_URL).")
    ] = 8710,
) -> None:
    """Keep a local stack up until Ctrl-C or SIGTERM: Temporal dev server + UI (its state in
    PAYOUTS_HOME, kept across restarts), sandbox, receiver, worker."""
    from starter.local.local_stack import DEV_SERVER_DB, LocalPorts, local_stack
    from starter.local.stop_signals import run_until_stopped

    bounded("ui-port", ui_port, 1, 65535)
    bounded("receiver-port", receiver_port, 1, 65535)
    bounded("sandbox-port", sandbox_port, 1, 65535)
    settings = _settings()
    ports = LocalPorts(ui=ui_port, receiver=receiver_port, sandbox=sandbox_port)
    state = Path(settings.home) / DEV_SERVER_DB

    async def run() -> int:
        async with local_stack(settings, ports=ports, temporal_db=state) as stack:
            console.print(
                f"Temporal UI  {stack.ui_url}\nreceiver     {stack.receiver_url}/webhooks/calypso\n"
                f"sandbox      {stack.settings.calypso_api_url}\nhome         {settings.home}\n"
                "Ctrl-C to stop.",
                soft_wrap=True,
            )
            await asyncio.Event().wait()
        return 0

    try:
        asyncio.run(run_until_stopped(run()))
    except OSError as exc:  # a port in use, the dev server's binary missing
        raise CliError(f"cannot start the local stack: {exc}", exit_code=1) from exc
    console.print("stopped")


@app.command()
def demo() -> None:
    """Run the demo: payouts to COMPLETED, rescheduled-then-canceled, and failed-and-compensated."""
    from starter.local.demo import run_demo
    from starter.local.stop_signals import run_until_stopped

    settings = Settings.from_env()
    # The demo prints its own story; service logs would drown it unless asked for.
    configure_logging(settings.log_level if "PAYOUTS_LOG_LEVEL" in os.environ else "WARNING")
    code = asyncio.run(run_until_stopped(run_demo(settings)))
    if code > 128:  # SIGINT, SIGTERM or SIGHUP: the stack is down, nothing is left running
        console.print("demo stopped")
    raise typer.Exit(code)


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
