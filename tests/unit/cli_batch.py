"""Many `payouts` runs in one fresh interpreter: the console script's own entry
(`starter.cli.main._run_app`) run once per case with its arguments and environment, its output
captured. One interpreter start (about a second of imports) instead of one per case.

    python -m tests.unit.cli_batch < cases.json > outcomes.json

Input: a JSON list of {"args": [...], "env": {...}} (the whole environment of that run);
output: a JSON list of {"returncode", "stdout", "stderr"}, in the same order.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys


def main() -> None:
    from starter.cli.main import _run_app  # after reading the cases: a bad import shows here

    cases = json.load(sys.stdin)
    real_stdout = sys.stdout
    outcomes = []
    for case in cases:
        os.environ.clear()
        os.environ.update(case["env"])
        sys.argv = ["payouts", *case["args"]]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = _run_app()
            except SystemExit as exit_:  # typer may still exit on its own
                code = exit_.code if isinstance(exit_.code, int) else 1
        outcomes.append({"returncode": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
    json.dump(outcomes, real_stdout)


if __name__ == "__main__":
    main()
