"""The embedded default: a local S3-compatible server (moto's app) on 127.0.0.1.

Real HTTP on a free loopback port; boto3 talks to it exactly as it talks to AWS or
MinIO, through AWS_ENDPOINT_URL. Used by `make run` and the integration tests.

What answers is moto's own WSGI application (what `moto_server` serves: the same S3
behaviour, Object Lock, versioning and conditional writes included), served by waitress
instead of werkzeug's development server: HTTP/1.1 keep-alive (werkzeug closes every
connection, so each request paid a connect, a thread and a 10 ms drain) and a fixed pool
of worker threads. moto's dispatcher lists its own package folder on every request to
find the backend of a host (~175 `stat` calls under a global lock); the answer depends
only on the host, so it is looked up once per host.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.core.request import PRESERVED_HEADER_NAMES_ENVIRON_KEY as PRESERVED
from moto.core.request import should_preserve_original_header_name
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HEADER_FIELD_RE, HTTPRequestParser, get_header_lines
from waitress.server import create_server
from waitress.task import WSGITask

DEMO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}
THREADS = 16  # request workers (the job's pool is 16 by default)
SERVER_OPTIONS = {
    "threads": THREADS,
    "connection_limit": 1000,  # idle keep-alive connections of many clients (tests)
    "channel_timeout": 30,  # an idle connection is closed after this many seconds
    "asyncore_use_poll": True,  # select() stops at file descriptor 1024
    "ident": "moto",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _MotoApp(DomainDispatcherApplication):
    """moto's dispatcher, its backend found once per host instead of once per request."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backends:
            self._backends[host] = super().get_backend_for_host(host)
        return self._backends[host]


class _Parser(HTTPRequestParser):
    """waitress's request parser, with two differences. A request without a body never
    waits for a 100-continue. And waitress drops every header whose name has an underscore
    (WSGI cannot tell `X_Foo` from `X-Foo`); S3 user metadata keys may have one, so those
    moto preserves are kept under their original spelling, as moto's own request handler
    does on werkzeug: a dashed header of the same WSGI name wins, repeated ones are
    joined with commas."""

    preserved: dict[str, str]

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)  # raises on a malformed block: lines are valid
        if not self.chunked and not self.content_length:
            # no body to wait for: waitress would send "100 Continue", mark the request
            # incomplete and wait for one forever (botocore expects on every PutObject)
            self.expect_continue = False
        self.preserved = {}
        values: dict[str, list[str]] = {}
        for line in get_header_lines(header_plus.partition(b"\r\n")[2]):
            match = HEADER_FIELD_RE.match(line)
            name = match.group("name").decode("latin-1") if match else ""
            if not should_preserve_original_header_name(name):
                continue
            key = name.upper().replace("-", "_")
            if key in self.headers and key not in values:
                continue  # never let an underscored header stand in for a dashed one
            self.preserved.setdefault(f"HTTP_{key}", name)
            values.setdefault(key, []).append(match.group("value").strip(b" \t").decode("latin-1"))
        for key, found in values.items():
            self.headers[key] = ",".join(found)


def _capitalized(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


class _Task(WSGITask):
    def build_response_header(self) -> bytes:
        """waitress capitalizes every response header name; botocore takes user metadata
        keys from them (`x-amz-meta-my_key` would read back as `My_key`), so the names go
        out as moto wrote them."""
        sent = {_capitalized(name): name for name, _value in self.response_headers}
        lines = super().build_response_header().decode("latin-1").split("\r\n")
        for i, line in enumerate(lines[1:], 1):
            name, colon, rest = line.partition(":")
            if colon and name in sent:
                lines[i] = sent[name] + colon + rest
        return "\r\n".join(lines).encode("latin-1")

    def get_environment(self) -> dict[str, Any]:
        environ = super().get_environment()
        environ.setdefault("RAW_URI", environ["REQUEST_URI"])  # moto reads the raw path here
        environ[PRESERVED] = getattr(self.request, "preserved", {})
        return environ


class _Channel(HTTPChannel):
    parser_class = _Parser
    task_class = _Task


def make_server(port: int, host: str = "127.0.0.1") -> Any:
    """A waitress server of moto's app, bound (listening) on host:port, not yet serving."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" notes
    server = create_server(_MotoApp(), host=host, port=port, **SERVER_OPTIONS)
    server.channel_class = _Channel
    return server


class EmbeddedS3:
    """moto's app bound to 127.0.0.1 on a free port: in a thread of this process (tests
    reach its state, e.g. to reset IAM), or in a process of its own (the demo and the
    benchmarks: the jobs then do not share a GIL with the server)."""

    def __init__(self, port: int | None = None, separate_process: bool = False) -> None:
        self.port = port or free_port()
        self.separate_process = separate_process
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process serving (this one, or the server's own)."""
        return self._proc.pid if self._proc is not None else os.getpid()

    def start(self, timeout: float = 60.0) -> EmbeddedS3:
        if self.separate_process:
            command = [sys.executable, "-m", "tasks.common.embedded", str(self.port)]
            root = str(Path(__file__).resolve().parents[2])  # importable from any directory
            path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
            self._proc = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": path},
            )
            _wait_for_port(self.port, self._proc, timeout)
            return self
        self._server = make_server(self.port)  # listening from here on
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="embedded-s3", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stopping.is_set():
            wasyncore.loop(timeout=1.0, map=self._server._map, use_poll=True, count=1)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        elif self._thread is not None:
            self._stopping.set()
            self._server.trigger.pull_trigger()  # wake the loop now
            self._thread.join()
            _close(self._server)  # once the loop is done with the sockets
            self._server = self._thread = None


def _close(server: Any) -> None:
    """The listening socket, every open connection, then the worker threads."""
    wasyncore.close_all(server._map)  # server.close() alone leaves the connections open
    server.task_dispatcher.shutdown()


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


def _serve_forever(port: int) -> None:
    """The server's own process (`python -m tasks.common.embedded PORT`): until SIGTERM."""
    os.environ.setdefault("MOTO_PORT", str(port))  # as `moto_server` sets it
    server = make_server(port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.run()
    finally:
        _close(server)


if __name__ == "__main__":
    _serve_forever(int(sys.argv[1]))
