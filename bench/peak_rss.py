"""Run a command and report its peak RSS: `python -m bench.peak_rss CMD ARGS...`.

The command's output passes through; its exit code is this process's. The last line on stderr
is `peak_rss_kib=N`: the largest resident set of the command and its children (ru_maxrss of a
process whose only children they are, so no other benchmark's processes count).
"""

from __future__ import annotations

import resource
import subprocess
import sys

MARK = "peak_rss_kib="


def main() -> int:
    # The benchmark's own command line (the `payouts` CLI), not outside input.
    returncode = subprocess.run(sys.argv[1:], check=False).returncode  # noqa: S603
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(f"{MARK}{peak}", file=sys.stderr)
    return returncode


def peak_of(stderr: str) -> float:
    """The reported peak in MB, from the wrapper's stderr."""
    lines = [line for line in stderr.splitlines() if line.startswith(MARK)]
    if not lines:
        raise RuntimeError("the command's peak RSS was not reported")
    return int(lines[-1].removeprefix(MARK)) / 1024


if __name__ == "__main__":
    sys.exit(main())
