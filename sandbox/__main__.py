"""`python -m sandbox [--host H] [--port P]`: the emulator without the `payouts` CLI."""

from __future__ import annotations

import argparse

from sandbox.server import serve
from sandbox.settings import DEFAULT_PORT, SandboxSettings, SandboxSettingsError


def main() -> None:
    parser = argparse.ArgumentParser(description="Calypso Pay payout API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    try:
        settings = SandboxSettings.from_env()
    except SandboxSettingsError as exc:
        parser.exit(2, f"sandbox: {exc}\n")
    serve(args.host, args.port, settings)


if __name__ == "__main__":
    main()
