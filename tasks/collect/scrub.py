"""Credentials out of settings before they leave the machine.

Values in credential-named fields (state and provider settings), MCP `env` and `headers`
values, credentials in MCP URLs (user-info, secret query parameters) become
`[REDACTED:<kind>:<8 hex>]` — the redaction engine's marker (tasks/retention/engine.py,
HMAC keyed by COMPLIANCE_REDACTION_KEY) — so the access review still sees that a
credential is stored there, and equal secrets correlate, without the bucket holding it.
Every other string goes through the redaction engine's rules too. `${env:…}`/`${input:…}`
references hold no secret and are kept. So is an AWS access key id (`AKIA…`/`ASIA…`, the
whole value): AWS documents it as an identifier and the secret access key as the secret,
and the access review matches ids to IAM users.
"""

from __future__ import annotations

import importlib.metadata as md
import re
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from tasks.access.secrets import AWS_KEY_ID

CRED_NAME = re.compile(
    r"(api[_-]?key|secret|token|password|passwd|authorization|access[_-]?key|credential|cookie)",
    re.I,
)
REFERENCE = re.compile(r"^\$\{(env|input):[^}]+\}$")


def credential_kind(name: str) -> str | None:
    """The marker kind for a field whose name says it holds a credential, else None."""
    lower = name.lower()
    if lower == "awsaccesskey":
        return "aws_access_key"
    if lower in {"awssecretkey", "awssessiontoken"}:
        return "aws_secret_key"
    return "api_key" if CRED_NAME.search(name) else None


def rule_source_problem() -> str | None:
    """One line when the redaction rules' package is missing (an endpoint installs it with
    --no-deps: only its rule file is read, never its code), else None."""
    from tasks.retention.sources import SOURCE

    try:
        md.distribution(SOURCE)
    except md.PackageNotFoundError:
        return (
            f"the redaction rules are read from {SOURCE}'s rule file and {SOURCE} is not "
            f"installed: pip install --no-deps -c constraints.txt {SOURCE}"
        )
    return None


class Scrubber:
    """Redacts credentials in settings structures; counts what it replaced, by kind."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.counts: Counter[str] = Counter()
        self._engine = None

    @property
    def engine(self):
        if self._engine is None:  # compiling the rules costs ~0.2 s: only when needed
            from tasks.retention.config import RedactionConfig
            from tasks.retention.engine import Redactor

            self._engine = Redactor(RedactionConfig(), self.key)
        return self._engine

    def marker(self, kind: str, value: str) -> str:
        self.counts[kind] += 1
        return self.engine.marker(kind, value.encode()).decode()

    def text(self, value: str) -> str:
        before = sum(self.engine.counts.values())
        out = self.engine.redact_text(value.encode()).decode()
        self.counts["text"] += sum(self.engine.counts.values()) - before
        return out

    def secret_value(self, kind: str, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip() or REFERENCE.match(value.strip()):
            return value
        if value.startswith("[REDACTED:"):
            return value
        if AWS_KEY_ID.match(value.strip()):  # an identifier (AWS says so), not the secret:
            return value.strip()  # kept so the access review can match it to its IAM user
        return self.marker(kind, value)

    def walk(self, obj: Any) -> Any:
        """Credential-named fields replaced whole; every other string through the rules."""
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                kind = credential_kind(str(k))
                if kind and isinstance(v, str):
                    out[k] = self.secret_value(kind, v)
                else:
                    out[k] = self.walk(v)
            return out
        if isinstance(obj, list):
            return [self.walk(v) for v in obj]
        if isinstance(obj, str):
            return self.text(obj)
        return obj

    def url(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            parts = urlsplit(value)
        except ValueError:
            return self.text(value)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, host = netloc.rpartition("@")
            netloc = f"{self.marker('url_credentials', userinfo)}@{host}"
        query = parts.query
        if query:
            pairs = []
            for name, val in parse_qsl(query, keep_blank_values=True):
                if credential_kind(name):
                    val = self.secret_value("url_credentials", val)
                pairs.append(f"{name}={val}")
            query = "&".join(pairs)
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))

    def mcp(self, data: Any) -> Any:
        """An mcp_settings.json / .roo/mcp.json document with its credentials redacted."""
        if not isinstance(data, dict) or not isinstance(data.get("mcpServers"), dict):
            return self.walk(data)
        servers = {}
        for name, spec in data["mcpServers"].items():
            if not isinstance(spec, dict):
                servers[name] = self.walk(spec)
                continue
            out = {}
            for k, v in spec.items():
                if k == "env" and isinstance(v, dict):
                    out[k] = {n: self.secret_value("mcp_env", x) for n, x in v.items()}
                elif k == "headers" and isinstance(v, dict):
                    out[k] = {n: self.secret_value("mcp_header", x) for n, x in v.items()}
                elif k == "url":
                    out[k] = self.url(v)
                else:
                    out[k] = self.walk(v)
            servers[name] = out
        return {
            **self.walk({k: v for k, v in data.items() if k != "mcpServers"}),
            "mcpServers": servers,
        }
