"""Ports for the servers a test starts itself.

A port the OS hands out for a bind to port 0 comes from the ephemeral range (32768-60999 on
Linux), the same range it takes the local ports of outgoing connections from: between the
probe and the server's own bind, a connection can take it, and the server fails with "address
already in use" (seen in a full run: the dev server's UI port). So a port is picked below that
range, where only listeners live, and checked free.
"""

from __future__ import annotations

import random
import socket

BELOW_EPHEMERAL = (20_000, 32_767)


def free_port() -> int:
    for _ in range(100):
        port = random.randint(*BELOW_EPHEMERAL)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {BELOW_EPHEMERAL}")


def closed_port() -> int:
    """A port nothing listens on (bound once, then released): for a server that must be away."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
