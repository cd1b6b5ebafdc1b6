"""A throwaway PostgreSQL server for the tests: initdb in a temporary directory, postgres on a
free port on 127.0.0.1, stopped and deleted at the end. Never skipped: CI installs Debian's
`postgresql` when no server binaries are found (.ci/run).

postgres refuses to run as root, so as root the server runs as the `postgres` user (Debian's
package creates it) or else `nobody`, through `runuser`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.ports import free_port

SUPERUSER = "payouts"


def server_bindir() -> Path:
    """Where `initdb`, `pg_ctl` and `postgres` are: pg_config's bindir, Debian's
    /usr/lib/postgresql/<version>/bin (the newest), or the PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run(  # noqa: S603 - a fixed argument list
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(p) for p in versions), key=_version, reverse=True)
    if shutil.which("postgres"):
        candidates.append(Path(shutil.which("postgres") or "").parent)
    for bindir in candidates:
        if all((bindir / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return bindir
    raise RuntimeError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found; "
        "install Debian's postgresql package (.ci/run does)"
    )


def _version(bindir: Path) -> int:
    name = bindir.parent.name
    return int(name) if name.isdigit() else 0


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    user: str | None  # whom the server runs as when we are root

    @property
    def admin_dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def dsn(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database's DSN."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = server_bindir()
    user = _server_user() if os.geteuid() == 0 else None
    datadir = Path(tempfile.mkdtemp(prefix="payouts-pg-"))
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(datadir, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bindir=bindir, datadir=datadir, port=free_port(), user=user)
    try:
        server.run(
            "initdb",
            "-D",
            str(datadir / "data"),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = (
            f"-p {server.port} -c listen_addresses=127.0.0.1 -k {datadir}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=100"
        )
        server.run(
            "pg_ctl",
            "-D",
            str(datadir / "data"),
            "-l",
            str(datadir / "log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        yield server
    except subprocess.CalledProcessError as failed:
        log = datadir / "log"
        raise RuntimeError(
            f"{failed.cmd}: {failed.stderr!r} {log.read_text() if log.exists() else ''}"
        ) from failed
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.run("pg_ctl", "-D", str(datadir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(datadir, ignore_errors=True)


def _server_user() -> str:
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root and no 'postgres' or 'nobody' user to run postgres as")
