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

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="rule name (lowercase, a-z 0-9 _)")
    kind: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", description="kind written in the marker, e.g. employee_id"
    )
    pattern: str = Field(description="regex (must also compile for the Hyperscan prefilter)")
    keyword: str | None = Field(
        default=None, description="a literal the text must contain for the rule to run (faster)"
    )

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

    values: list[str] = Field(default_factory=list, description="exact values never redacted")
    regexes: list[str] = Field(default_factory=list, description="regexes of values never redacted")

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
    custom_rules: list[CustomRule] = Field(
        default_factory=list, description="your own redaction rules, beside the built-in ones"
    )
    allowlist: Allowlist = Field(
        default_factory=Allowlist, description="values that look secret but are not"
    )
    disabled_rules: list[str] = Field(
        default_factory=list, description="built-in rule names to switch off"
    )
    chunk_mb: int = Field(
        default=8, ge=1, le=256, description="size of the blocks a large log is redacted in, MiB"
    )


class LegalHolds(BaseModel):
    model_config = {"extra": "forbid"}

    users: list[str] = Field(default_factory=list, description="users whose logs are never deleted")
    tasks: list[str] = Field(default_factory=list, description="task ids never deleted")
    matters: dict[str, list[str]] = Field(
        default_factory=dict, description="matter id -> users or task ids under hold"
    )


class RetentionConfig(BaseModel):
    model_config = {"extra": "forbid"}

    raw_days: int = Field(
        default=30, ge=0, le=36500, description="days raw task logs are kept before deletion"
    )
    redacted_days: int = Field(
        default=365, ge=0, le=36500, description="days redacted copies are kept"
    )
    quarantine_days: int = Field(
        default=90, ge=0, le=36500, description="days quarantined records are kept"
    )
    legal_holds: LegalHolds = Field(
        default_factory=LegalHolds, description="what must not be deleted whatever its age"
    )
    workers: int = Field(
        default=4, ge=1, le=64, description="parallel workers (one per user prefix)"
    )
    # S3 requests in flight per process (GET/PUT/HEAD per object); the S3 client's
    # connection pool holds 32 (tasks/common/s3.py), so more would only queue there.
    s3_concurrency: int = Field(
        default=16,
        ge=1,
        le=32,
        description="S3 requests in flight per process (the client pools 32 connections)",
    )
    mode: Literal["plan", "apply"] = Field(
        default="apply", description="plan: report what would be deleted; apply: delete"
    )


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
