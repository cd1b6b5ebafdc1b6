"""Run every benchmark and print its figures; each reports a ratio against a same-run baseline."""

from __future__ import annotations

from bench import client_pooling, mass_scale, saga_actions, saga_throughput, webhooks
from bench.figures import show
from starter.service.logging import configure_logging


def main() -> None:
    configure_logging("WARNING")  # the sandbox logs every request; only figures belong here
    for benchmark in (client_pooling, saga_actions, saga_throughput, webhooks, mass_scale):
        figures = benchmark.run()
        print()
        show(figures)


if __name__ == "__main__":
    main()
