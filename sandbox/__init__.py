"""A local emulator of the Calypso Pay payout API: signed requests, the payout state machine,
signed webhooks with retries, scenario addresses and fault injection. See docs/sandbox.md.

It deliberately imports nothing from `activities`, `workflows` or `starter`: it is the other
side of the wire and must not share the client's mistakes."""

from sandbox.app import create_app
from sandbox.server import SandboxHandle, running_sandbox, serve
from sandbox.settings import DEFAULT_PORT, SandboxSettings, SandboxSettingsError

__all__ = [
    "DEFAULT_PORT",
    "SandboxHandle",
    "SandboxSettings",
    "SandboxSettingsError",
    "create_app",
    "running_sandbox",
    "serve",
]
