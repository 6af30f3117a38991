"""The embedded default: a local S3-compatible server (moto, server mode) on 127.0.0.1.

Real HTTP on a free loopback port; boto3 talks to it exactly as it talks to AWS or
MinIO, through AWS_ENDPOINT_URL. Used by `make run` and the integration tests.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

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
    """moto's ThreadedMotoServer bound to 127.0.0.1 on a free port."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmbeddedS3:
        # One log line per HTTP request would drown the jobs' own output.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()


@contextmanager
def embedded_s3(set_env: bool = True) -> Iterator[EmbeddedS3]:
    """Start the server; optionally point this process's boto3 at it; stop it afterwards."""
    server = EmbeddedS3().start()
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
