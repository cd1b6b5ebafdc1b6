"""The system as it is deployed, for benchmarks: each part in its own process.

A local dev server, and `payouts sandbox`, `payouts webhooks` and `payouts worker` as separate
processes reading one environment (as on several machines), so that the provider's emulator,
the receiver and the benchmark's own client do not share the worker's interpreter. In
`payouts dev` they share one process, which is fine for a demo and wrong for a measurement:
the provider is someone else's computer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from temporalio.client import Client

from starter.local.dev_server import DevServer, running_dev_server
from starter.local.local_stack import subscribe
from starter.service.search_attribute_setup import register_search_attributes
from starter.service.settings import Settings
from starter.service.temporal_client import connect

READY_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class Deployment:
    settings: Settings
    client: Client
    env: dict[str, str]  # what every process of the deployment reads
    home: Path
    receiver_url: str
    pids: dict[str, int]  # server, sandbox, receiver, worker, and any `process`

    def peak_rss_mb(self, part: str) -> float:
        """The peak resident memory of one part so far (VmHWM)."""
        for line in Path(f"/proc/{self.pids[part]}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
        raise RuntimeError(f"no VmHWM for {part}")

    def cpu_seconds(self, part: str) -> float:
        """The CPU time (user + system) one part has used so far."""
        fields = Path(f"/proc/{self.pids[part]}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime

    def process(self, name: str, *command: str) -> contextlib.AbstractContextManager[None]:
        """Another process of the deployment, run until the block ends (log: HOME/<name>.log)."""
        return _spawn(name, list(command), self.env, self.home, self.pids)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def deployment(
    *, step_delay_seconds: float, settings: dict[str, str] | None = None, extra_keys: str = ""
) -> AsyncIterator[Deployment]:
    """Dev server, sandbox, receiver (subscribed to the sandbox) and one worker; the ledger is
    the embedded SQLite file under a fresh PAYOUTS_HOME. `settings`: more PAYOUTS_* variables
    for every process; `extra_keys`: `public:secret` pairs the receiver accepts besides the
    sandbox's (a benchmark that signs its own webhooks)."""
    with tempfile.TemporaryDirectory(prefix="payouts-bench-") as tmp, contextlib.ExitStack() as up:
        home = Path(tmp)
        pids: dict[str, int] = {}
        address = f"127.0.0.1:{free_port()}"
        sandbox_port, receiver_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        receiver_url = f"http://127.0.0.1:{receiver_port}"
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "CALYPSO_API_URL": sandbox_url,
            "PAYOUTS_HOME": str(home),
            "PAYOUTS_LOG_LEVEL": "WARNING",
            "SANDBOX_STEP_DELAY": str(step_delay_seconds),
            **(settings or {}),
        }
        server = DevServer(address, "default", free_port(), log_file=home / "temporal.log")
        pids["server"] = up.enter_context(running_dev_server(server)).pid
        client = await _connected(Settings.from_env(env))
        await register_search_attributes(client, "default")
        up.enter_context(
            _spawn(
                "sandbox",
                [payouts_command(), "sandbox", "--port", str(sandbox_port)],
                env,
                home,
                pids,
            )
        )
        await _answering(f"{sandbox_url}/sandbox/health")
        subscribed = await subscribe(Settings.from_env(env), f"{receiver_url}/webhooks/calypso")
        pairs = [f"{public}:{secret}" for public, secret in subscribed.items()]
        env["CALYPSO_WEBHOOK_KEYS"] = ",".join(filter(None, [*pairs, extra_keys]))
        up.enter_context(
            _spawn(
                "receiver",
                [payouts_command(), "webhooks", "--port", str(receiver_port)],
                env,
                home,
                pids,
            )
        )
        await _answering(f"{receiver_url}/healthz")
        up.enter_context(_spawn("worker", [payouts_command(), "worker"], env, home, pids))
        yield Deployment(Settings.from_env(env), client, env, home, receiver_url, pids)


@contextlib.contextmanager
def _spawn(
    name: str, command: list[str], env: dict[str, str], home: Path, pids: dict[str, int]
) -> Iterator[None]:
    """Run `command` (its output in HOME/<name>.log, its pid in `pids`) until the block ends."""
    with (home / f"{name}.log").open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603 - our own console scripts
            command, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    pids[name] = process.pid
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def payouts_command() -> str:
    """The `payouts` console script installed beside this interpreter."""
    return str(Path(sys.executable).parent / "payouts")


async def _connected(settings: Settings) -> Client:
    async with asyncio.timeout(READY_DEADLINE_SECONDS):
        while True:
            try:
                return await connect(settings)
            except RuntimeError:
                await asyncio.sleep(0.2)


async def _answering(url: str) -> None:
    async with httpx.AsyncClient(timeout=2) as http, asyncio.timeout(READY_DEADLINE_SECONDS):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.2)
