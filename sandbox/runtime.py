"""The parts of one running sandbox, wired together once per app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sandbox.engine import PayoutEngine
from sandbox.settings import SandboxSettings
from sandbox.state import SandboxState
from sandbox.webhooks import WebhookSender


@dataclass
class SandboxRuntime:
    settings: SandboxSettings
    state: SandboxState
    webhooks: WebhookSender
    engine: PayoutEngine
    # Set when the server is about to stop, so responses held back on purpose
    # (commitThenDrop) let go instead of stalling shutdown.
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def build(cls, settings: SandboxSettings) -> SandboxRuntime:
        state = SandboxState(settings)
        webhooks = WebhookSender(state)
        return cls(settings, state, webhooks, PayoutEngine(state, webhooks))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.closing.clear()
        await self.webhooks.start()
        self.engine.start()

    def begin_closing(self) -> None:
        """Callable from any thread (the one that asked the server to stop)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.closing.set)

    async def stop(self) -> None:
        self.closing.set()
        await self.engine.stop()
        await self.webhooks.stop()

    def reset(self) -> None:
        self.webhooks.reset()
        self.state.reset()
        self.engine.wake()
