"""Run the sandbox: blocking for the `payouts sandbox` CLI verb, or in a background thread
for tests and the demo (`running_sandbox`)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn

from sandbox.app import create_app
from sandbox.settings import DEFAULT_PORT, SandboxSettings

STARTUP_DEADLINE_SECONDS = 15.0
SHUTDOWN_DEADLINE_SECONDS = 10.0
# In-flight requests (e.g. a commitThenDrop response waiting for its client to give up)
# get this long to finish before shutdown cancels them.
GRACEFUL_SHUTDOWN_SECONDS = 1


@dataclass(frozen=True)
class SandboxHandle:
    url: str
    settings: SandboxSettings


def serve(
    host: str = "127.0.0.1", port: int = DEFAULT_PORT, settings: SandboxSettings | None = None
) -> None:
    """Serve until interrupted (Ctrl-C)."""
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)


@contextmanager
def running_sandbox(
    settings: SandboxSettings | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[SandboxHandle]:
    """Run a sandbox on a background thread; port 0 picks a free port. Yields once
    /sandbox/health answers and stops the server (and its background tasks) on exit."""
    settings = settings or SandboxSettings.from_env()
    # Binding here, not in uvicorn, tells us the real port before the server starts.
    # IPPROTO_TCP must be explicit: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="calypso-sandbox", daemon=True
    )
    thread.start()
    handle = SandboxHandle(url=f"http://{bound_host}:{bound_port}", settings=settings)
    try:
        _wait_until_healthy(handle.url, thread)
        yield handle
    finally:
        app.state.runtime.begin_closing()
        server.should_exit = True
        thread.join(SHUTDOWN_DEADLINE_SECONDS)
        sock.close()


def _wait_until_healthy(url: str, thread: threading.Thread) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE_SECONDS
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if not thread.is_alive():
                raise RuntimeError("the sandbox server stopped during start-up (see its log)")
            try:
                if client.get(f"{url}/sandbox/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            time.sleep(0.02)
    raise TimeoutError(f"the sandbox at {url} did not become healthy in time")
