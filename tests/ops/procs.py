"""Subprocesses for the operations tests: a Prefect server and worker in their own
process groups (killed as groups, so their children go too), output kept in log files."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".venv" / "bin"


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path, cwd: Path = REPO) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            args, env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() takes the children too
        )  # fmt: skip

    def tail(self, n: int = 2000) -> str:
        return self.log.read_bytes()[-n:].decode(errors="replace")

    def stop(self, grace: float = 10) -> None:
        if self.popen.poll() is None:
            pgid = os.getpgid(self.popen.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.popen.wait(5)
        self._out.close()


def wait_healthy(url: str, proc: Proc, timeout: float) -> float:
    """Poll <api>/health until it answers 200; return the seconds it took."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"prefect server exited {proc.popen.returncode}: {proc.tail()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"prefect server not healthy after {timeout:.0f} s: {proc.tail()}")


def run(args: list[str], env: dict[str, str], timeout: float = 120) -> str:
    """Run a command to completion from the project root; its output, or an error with it."""
    done = subprocess.run(
        args, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:3])} exited {done.returncode}: {done.stdout[-1500:]} {done.stderr[-1500:]}"
        )
    return done.stdout
