"""`payouts dev` as an operator runs it: a real process on free ports, stopped with SIGTERM.

Its Temporal state lives under PAYOUTS_HOME, so a restart finds every saga again (and the
ledger, under the same home, still holds their reservations); a SIGTERM stops every child, the
Temporal dev server included. No fixture of conftest.py is used: the stack is the one `payouts
dev` builds, with HOME pointed at the test's directory so the default PAYOUTS_HOME is its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from activities.ledger import EntryState, SqliteLedger
from tests.contract.conftest import eventually
from tests.integration.conftest import TRON
from tests.integration.mass_support import tron
from tests.ports import free_port
from workflows.payout_models import FINAL_SAGA_STATES

ROOT = Path(__file__).resolve().parents[2]
# A fresh interpreter importing temporalio, then the dev server starting: seconds on an idle
# machine, much more on a loaded 2-core one. Longer than this means it hangs.
START_DEADLINE_SECONDS = 180.0
STOP_DEADLINE_SECONDS = 60.0
CLI_DEADLINE_SECONDS = 120.0
READY_LINE = "Ctrl-C to stop."
MASS_RECIPIENTS = 700  # a list of about 43 KB: above the 32 KB offload threshold
FINAL_STATES = {str(state) for state in FINAL_SAGA_STATES}


@dataclass
class DevStack:
    """One `payouts dev` process: its environment, ports and output file."""

    home: Path
    environ: dict[str, str]
    temporal_port: int
    ports: tuple[int, int, int]  # ui, receiver, sandbox
    output: Path
    process: asyncio.subprocess.Process | None = None

    @classmethod
    def create(cls, tmp_path: Path) -> DevStack:
        user = tmp_path / "user"  # HOME: PAYOUTS_HOME's default is ~/.payouts
        temporal = free_port()
        environ = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("CALYPSO_", "TEMPORAL_", "PAYOUTS_", "SANDBOX_"))
        }
        environ.update(
            HOME=str(user),
            PYTHONPATH=str(ROOT),
            TEMPORAL_ADDRESS=f"127.0.0.1:{temporal}",
            PAYOUTS_LOG_LEVEL="WARNING",
            COLUMNS="200",
        )
        ports = (free_port(), free_port(), free_port())
        return cls(user / ".payouts", environ, temporal, ports, tmp_path / "dev-output.txt")

    async def start(self) -> None:
        """Start `payouts dev` and return once it says it is up."""
        ui, receiver, sandbox = map(str, self.ports)
        command = ["dev", "--ui-port", ui, "--receiver-port", receiver, "--sandbox-port", sandbox]
        started_before = self._ready_lines()
        with self.output.open("ab") as output:  # one file for every start: read it on failure
            process = await asyncio.create_subprocess_exec(
                *_cli(*command),
                cwd=ROOT,
                env=self.environ,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=output,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # as a service manager runs it: no terminal's signals
            )
        self.process = process

        async def ready() -> bool:
            assert process.returncode is None, f"payouts dev exited: {self.output.read_text()}"
            return self._ready_lines() > started_before

        await eventually(ready, deadline=START_DEADLINE_SECONDS, interval=0.2)

    def _ready_lines(self) -> int:
        return self.output.read_text().count(READY_LINE) if self.output.exists() else 0

    async def terminate(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.process.wait(), STOP_DEADLINE_SECONDS)

    def dev_servers(self) -> list[int]:
        """Pids of `temporal server start-dev` processes listening on our Temporal port."""
        return temporal_dev_servers(self.temporal_port)

    async def payouts(self, *args: str, cwd: Path = ROOT) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *_cli(*args),
            cwd=cwd,
            env=self.environ,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), CLI_DEADLINE_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def status(self, key: str) -> dict[str, Any]:
        code, out, err = await self.payouts("status", key, "--json")
        assert code == 0, err
        document: dict[str, Any] = json.loads(out)
        return document

    def kill_leftovers(self) -> None:
        """After a failed test: what this test started must not outlive it."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
        for pid in self.dev_servers():
            os.kill(pid, signal.SIGKILL)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from starter.cli.main import main; main()", *args]


def temporal_dev_servers(port: int) -> list[int]:
    """Pids whose command line is `temporal server start-dev … --port PORT …`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile
            continue
        words = [word.decode(errors="replace") for word in argv]
        if "start-dev" in words and f"--port\0{port}" in "\0".join(words):
            found.append(int(entry.name))
    return found


async def test_dev_keeps_sagas_across_a_restart_and_sigterm_stops_every_child(
    tmp_path: Path,
) -> None:
    dev = DevStack.create(tmp_path)
    ledger = SqliteLedger(dev.home / "ledger.sqlite3")
    await ledger.fund("default", "USDT_TRX", Decimal(100))
    key = str(uuid.uuid4())
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    try:
        await dev.start()
        assert len(dev.dev_servers()) == 1, "payouts dev runs its own dev server"
        assert (dev.home / "temporal-dev.sqlite").is_file()

        pay = ["pay", "--to", TRON, "--amount", "25.50", "--currency", "USDT_TRX"]
        code, _, err = await dev.payouts(*pay, "--key", key, "--execution-date", tomorrow)
        assert code == 0, err

        async def scheduled() -> bool:
            return bool((await dev.status(key))["state"] == "SCHEDULED")

        await eventually(scheduled, deadline=CLI_DEADLINE_SECONDS, interval=0.5)

        assert await dev.terminate() == 0, dev.output.read_text()
        assert dev.dev_servers() == [], "SIGTERM left the Temporal dev server running"

        await dev.start()
        status = await dev.status(key)  # a dev server in memory would answer "not found"
        assert status["state"] == "SCHEDULED", status
        entry = await ledger.entry(key)
        assert entry is not None and entry.state == EntryState.RESERVED

        assert await dev.terminate() == 0, dev.output.read_text()
        assert dev.dev_servers() == [], "SIGTERM left the Temporal dev server running"
    finally:
        dev.kill_leftovers()
        await ledger.close()


async def test_a_mass_payout_started_in_another_directory_is_read_by_the_worker(
    tmp_path: Path,
) -> None:
    """The case that made paths absolute: `payouts dev` runs in the project, `payouts mass` in
    the directory that holds the CSV. Both resolve the default PAYOUTS_HOME (~/.payouts), so
    the offloaded list lands where the worker reads it."""
    dev = DevStack.create(tmp_path)
    ledger = SqliteLedger(dev.home / "ledger.sqlite3")
    await ledger.fund("default", "USDT_TRX", Decimal(10_000))
    documents = tmp_path / "documents"
    documents.mkdir()
    rows = [f"{tron(n)};1.25" for n in range(MASS_RECIPIENTS)]
    (documents / "payroll.csv").write_text("address;amount\n" + "\n".join(rows) + "\n")
    try:
        await dev.start()
        mass = ["mass", "--csv", "payroll.csv", "--currency", "USDT_TRX", "--name", "payroll"]
        code, out, err = await dev.payouts(*mass, "--yes", "--json", cwd=documents)
        assert code == 0, err
        key = json.loads(out)["key"]
        assert list((dev.home / "payloads").glob("*.payload")), "the list was not offloaded"
        assert not (documents / ".payouts").exists()

        async def ended() -> dict[str, Any] | None:
            status = await dev.status(key)
            return status if status["state"] in FINAL_STATES else None

        status = await eventually(ended, deadline=CLI_DEADLINE_SECONDS, interval=1.0)
        assert status["state"] == "COMPLETED", status
        assert await dev.terminate() == 0, dev.output.read_text()
    finally:
        dev.kill_leftovers()
        await ledger.close()
