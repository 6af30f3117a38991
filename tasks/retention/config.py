"""Schemas for the `redaction:` and `retention:` config sections (one-line errors)."""

from __future__ import annotations

import os
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from tasks.common.errors import ConfigError
from tasks.common.settings import validate_section

REDACTION_KEY_ENV = "COMPLIANCE_REDACTION_KEY"


class CustomRule(BaseModel):
    model_config = {"extra": "forbid"}

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    pattern: str
    keyword: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value.encode())
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        import hyperscan  # the prefilter must compile too (prefilter mode, no keyword)

        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        try:
            db.compile(expressions=[value.encode()], ids=[0], elements=1, flags=[hyperscan.HS_FLAG_PREFILTER])  # fmt: skip
        except hyperscan.error:
            raise ValueError("regex not supported by the Hyperscan prefilter") from None
        return value


class Allowlist(BaseModel):
    model_config = {"extra": "forbid"}

    values: list[str] = Field(default_factory=list)
    regexes: list[str] = Field(default_factory=list)

    @field_validator("regexes")
    @classmethod
    def _compile_all(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                re.compile(item)
            except re.error as exc:
                raise ValueError(f"invalid regex {item!r}: {exc}") from None
        return value


class RedactionConfig(BaseModel):
    model_config = {"extra": "forbid"}

    key: str | None = Field(default=None, description="HMAC key (prefer the env variable)")
    custom_rules: list[CustomRule] = Field(default_factory=list)
    allowlist: Allowlist = Field(default_factory=Allowlist)
    disabled_rules: list[str] = Field(default_factory=list)
    chunk_mb: int = Field(default=8, ge=1, le=256)


class LegalHolds(BaseModel):
    model_config = {"extra": "forbid"}

    users: list[str] = Field(default_factory=list)
    tasks: list[str] = Field(default_factory=list)
    matters: dict[str, list[str]] = Field(
        default_factory=dict, description="matter id -> users or task ids under hold"
    )


class RetentionConfig(BaseModel):
    model_config = {"extra": "forbid"}

    raw_days: int = Field(default=30, ge=0, le=36500)
    redacted_days: int = Field(default=365, ge=0, le=36500)
    quarantine_days: int = Field(default=90, ge=0, le=36500)
    legal_holds: LegalHolds = Field(default_factory=LegalHolds)
    workers: int = Field(default=4, ge=1, le=64)
    # S3 requests in flight per process (GET/PUT/HEAD per object); the S3 client's
    # connection pool holds 32 (tasks/common/s3.py), so more would only queue there.
    s3_concurrency: int = Field(default=16, ge=1, le=32)
    mode: Literal["plan", "apply"] = "apply"


def parse_redaction(raw: dict[str, Any] | None, source: str = "config") -> RedactionConfig:
    return validate_section(RedactionConfig, "redaction", raw or {}, source)


def parse_retention(raw: dict[str, Any] | None, source: str = "config") -> RetentionConfig:
    return validate_section(RetentionConfig, "retention", raw or {}, source)


def redaction_key(cfg: RedactionConfig, deployment: str | None = None) -> bytes:
    """The HMAC key of the redaction markers: the env variable wins, then `redaction.key`.

    Required: a key derived from a public name (bucket, host) would let anyone recompute
    the markers and brute-force short values such as SSNs or phone numbers.
    """
    explicit = os.environ.get(REDACTION_KEY_ENV) or cfg.key
    if explicit:
        return explicit.encode()
    where = f" for {deployment}" if deployment else ""
    raise ConfigError(
        f"no redaction key{where}: set {REDACTION_KEY_ENV} (or redaction.key in the config) "
        "to a secret of at least 32 random characters"
    )
