"""The embedded default: a local S3-compatible server (moto, server mode) on 127.0.0.1.

Real HTTP on a free loopback port; boto3 talks to it exactly as it talks to AWS or
MinIO, through AWS_ENDPOINT_URL. Used by `make run` and the integration tests.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEMO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedS3:
    """moto's server bound to 127.0.0.1 on a free port: in a thread of this process (tests
    reach its state, e.g. to reset IAM), or in a process of its own (the demo: the jobs
    then do not share a GIL with the server, ~25% faster on log-retention)."""

    def __init__(self, port: int | None = None, separate_process: bool = False) -> None:
        self.port = port or free_port()
        self.separate_process = separate_process
        self._server: Any = None
        self._proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> EmbeddedS3:
        if self.separate_process:
            command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
            self._proc = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            _wait_for_port(self.port, self._proc, timeout)
            return self
        from moto.server import ThreadedMotoServer

        # One log line per HTTP request would drown the jobs' own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        elif self._server is not None:
            self._server.stop()
            self._server = None


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"embedded S3 (moto server) exited with code {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(
        f"embedded S3 (moto server) did not listen on 127.0.0.1:{port} in {timeout:.0f} s"
    )


@contextmanager
def embedded_s3(set_env: bool = True, separate_process: bool = True) -> Iterator[EmbeddedS3]:
    """Start the server; optionally point this process's boto3 at it; stop it afterwards."""
    server = EmbeddedS3(separate_process=separate_process).start()
    saved = {k: os.environ.get(k) for k in [*DEMO_CREDENTIALS, "AWS_ENDPOINT_URL"]}
    try:
        if set_env:
            for k, v in DEMO_CREDENTIALS.items():
                os.environ.setdefault(k, v)
            os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        yield server
    finally:
        if set_env:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        server.stop()
