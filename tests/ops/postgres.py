"""A throwaway PostgreSQL server from Debian's packages, on 127.0.0.1 and a free port.

`.ci/run` installs the `postgresql` package. PostgreSQL refuses to run as root, so when the
tests run as root the cluster belongs to the `postgres` system user the package creates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tasks.common.embedded import free_port


def pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    return found[-1].parent


def _as_owner(args: list[str], timeout: float = 60) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    done = subprocess.run(prefix + args, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(args[0]).name} exited {done.returncode}: {done.stderr[-800:]}")


@contextmanager
def postgres_server(database: str = "prefect") -> Iterator[str]:
    """Start a cluster, create `database`, yield its asyncpg URL; stop and wipe it after."""
    bindir = pg_bin()
    # not under pytest's tmp_path: its 0700 parents are closed to the postgres user
    data = Path(tempfile.mkdtemp(prefix="pg-compliance-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    try:
        _as_owner([str(bindir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres"])
        opts = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_owner(
            [str(bindir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "log"), "-o", opts]
            + ["-w", "start"]
        )
        try:
            _as_owner(
                [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
                + ["-c", f"CREATE DATABASE {database}"]
            )
            yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{database}"
        finally:
            _as_owner([str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "stop"])
    finally:
        shutil.rmtree(data, ignore_errors=True)
