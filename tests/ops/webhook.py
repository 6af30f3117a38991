"""Local receivers for notifications (127.0.0.1, free ports, stopped by the test).

- `WebhookListener`: plain HTTP, records JSON POSTs.
- `TlsWebhookProxy`: an HTTP CONNECT proxy that terminates the tunnel's TLS itself (a
  self-signed certificate; Apprise URLs carry `verify=no`), so a sender talking to
  hooks.slack.com, events.pagerduty.com or a Teams workflow host over HTTPS, with
  HTTPS_PROXY pointed here, lands in `received` with the real host, path and body.
- `SmtpSink`: a real SMTP server (aiosmtpd) that keeps each message.
"""

from __future__ import annotations

import datetime as dt
import json
import ssl
import tempfile
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class WebhookListener:
    def __init__(self) -> None:
        self.received: list[dict] = []
        self.event = threading.Event()
        self.status = 204
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                listener.received.append(json.loads(self.rfile.read(length)))
                listener.event.set()
                self.send_response(listener.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookListener:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    )  # fmt: skip
    return cert_path, key_path


class TlsWebhookProxy:
    """Records {"host", "path", "query", "headers", "json"} of every POST sent through it."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict] = []
        self.connects: list[str] = []
        self.status = status
        self._tmp = tempfile.TemporaryDirectory()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*_self_signed(Path(self._tmp.name)))
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_CONNECT(self) -> None:
                outer.connects.append(self.path)
                self.tunnel_host = self.path.rsplit(":", 1)[0]
                self.send_response(200, "Connection established")
                self.end_headers()
                self.wfile.flush()
                self.connection = ctx.wrap_socket(self.connection, server_side=True)
                self.rfile = self.connection.makefile("rb")
                self.wfile = self.connection.makefile("wb")
                self.close_connection = False

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                path, _, query = self.path.partition("?")
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                outer.received.append(
                    {"host": self.headers.get("Host", "").split(":")[0], "path": path,
                     "query": query, "headers": dict(self.headers), "json": parsed}
                )  # fmt: skip
                reply = b"ok" if outer.status < 300 else b"no"
                self.send_response(outer.status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)
                self.wfile.flush()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.proxy_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> TlsWebhookProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._tmp.cleanup()


class SmtpSink:
    """aiosmtpd on 127.0.0.1: `messages` holds (mail_from, rcpt_tos, email.message.Message)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        from tasks.common.embedded import free_port

        self.messages: list = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = message_from_bytes(envelope.content, policy=policy.default)
                outer.messages.append((envelope.mail_from, list(envelope.rcpt_tos), msg))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
