"""Run every benchmark and print its figures; each reports a ratio against a same-run baseline."""

from __future__ import annotations

from . import client_pooling


def main() -> None:
    for benchmark in (client_pooling,):
        figures = benchmark.run()
        print()
        for name, value in figures.items():
            print(f"{name:>10}: {value}")


if __name__ == "__main__":
    main()
