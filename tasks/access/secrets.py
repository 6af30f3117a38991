"""Credentials found in settings: located, fingerprinted, never printed."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from tasks.access.snapshot import UserSettings

AWS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{16}$")
_SECRET_VALUE = re.compile(
    r"^(AKIA[A-Z0-9]{16}|sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|xox[abpr]-[A-Za-z0-9\-]{10,}|AIza[A-Za-z0-9_\-]{30,}|(Bearer|Basic)\s+\S{12,})$"
)
_SECRET_NAME = re.compile(r"(api[_-]?key|secret|token|password|authorization|access[_-]?key)", re.I)
# Placeholders that Roo Code resolves at run time: no secret is stored in the file.
_REFERENCE = re.compile(r"^\$\{(env|input):[^}]+\}$")


def fingerprint(value: str) -> str:
    """Last 4 characters and a short SHA-256: enough to match, never enough to use."""
    return f"…{value[-4:]} sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class FoundCredential:
    user: str
    location: str  # e.g. providerProfiles.apiConfigs.default.apiKey
    kind: str  # api_key | aws_access_key | aws_secret_key | mcp_env | mcp_header
    fingerprint: str
    aws_key_id: str | None = None  # access key ids are identifiers, used to match IAM


def _profile_field_kind(name: str) -> str | None:
    lower = name.lower()
    if lower == "awsaccesskey":
        return "aws_access_key"
    if lower in {"awssecretkey", "awssessiontoken"}:
        return "aws_secret_key"
    if lower.endswith("apikey") or lower.endswith("token") or lower.endswith("secret"):
        return "api_key"
    return None


def find_credentials(us: UserSettings) -> list[FoundCredential]:
    found: list[FoundCredential] = []
    configs: dict[str, Any] = us.provider_profiles.get("apiConfigs") or {}
    for profile, cfg in configs.items():
        if not isinstance(cfg, dict):
            continue
        for field, value in cfg.items():
            kind = _profile_field_kind(field)
            if kind and isinstance(value, str) and value.strip() and not _REFERENCE.match(value):
                key_id = (
                    value.strip()
                    if kind == "aws_access_key" and AWS_KEY_ID.match(value.strip())
                    else None
                )
                found.append(
                    FoundCredential(
                        us.user,
                        f"providerProfiles.apiConfigs.{profile}.{field}",
                        kind,
                        fingerprint(value),
                        key_id,
                    )
                )
    for server in [
        *us.mcp_global.values(),
        *(s for p in us.mcp_projects.values() for s in p.values()),
    ]:
        for label, values in (("env", server.env), ("headers", server.headers)):
            for name, value in values.items():
                v = value.strip()
                if not v or _REFERENCE.match(v) or "${" in v:
                    continue
                if _SECRET_VALUE.match(v) or (_SECRET_NAME.search(name) and len(v) >= 12):
                    key_id = v if AWS_KEY_ID.match(v) else None
                    found.append(
                        FoundCredential(
                            us.user,
                            f"{server.source}:mcpServers.{server.name}.{label}.{name}",
                            "mcp_header" if label == "headers" else "mcp_env",
                            fingerprint(v),
                            key_id,
                        )
                    )
    return found
