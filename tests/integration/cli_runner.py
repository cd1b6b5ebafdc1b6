"""Running the real `payouts` console script against a test stack, without blocking the event
loop the stack's worker runs in."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.integration.conftest import Stack

ROOT = Path(__file__).resolve().parents[2]
# One CLI run: a fresh interpreter importing temporalio and pydantic (a few seconds alone on a
# loaded 2-core machine), plus, for `pay --wait`, the whole saga. 60 s was tight for that; a run
# that takes longer than this has hung.
CLI_DEADLINE_SECONDS = 180


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


async def run_payouts(stack: Stack, env: WorkflowEnvironment, *args: str, cwd: Path = ROOT) -> Ran:
    """`payouts ARGS` pointed at `env` and the stack's task queue, with none of our settings
    inherited from the developer's environment."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("CALYPSO_", "TEMPORAL_", "PAYOUTS_", "SANDBOX_"))
    }
    environ.update(
        PYTHONPATH=str(ROOT),
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        PAYOUTS_TASK_QUEUE=stack.task_queue,
        PAYOUTS_LOG_LEVEL="WARNING",
        COLUMNS="200",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from starter.cli.main import main; main()",
        *args,
        cwd=cwd,  # anything the CLI writes relative to its directory stays there
        env=environ,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=CLI_DEADLINE_SECONDS)
    except TimeoutError:
        process.kill()  # a hung CLI must not outlive its test
        await process.wait()
        raise
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())
