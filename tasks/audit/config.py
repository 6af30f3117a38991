"""The `audit:` section of compliance.yaml, validated before the flow starts."""

from __future__ import annotations

from typing import Any

import re2
from pydantic import BaseModel, Field, field_validator, model_validator

from tasks.audit.model import BUILTIN_EDIT_MODES
from tasks.common.bursts import WriteBurstConfig, refuse_old_keys
from tasks.common.settings import validate_section

# Commands worth a finding wherever they run (regexes, RE2 syntax, searched anywhere).
DEFAULT_DENY_COMMANDS = [
    r"\brm\s+-[a-zA-Z]*[rR][a-zA-Z]*f?\s+(/|~|\$HOME)(\s|$)",
    r"\b(curl|wget)\b[^|]*\|\s*(sudo\s+)?(ba|z)?sh\b",
    r"\bgit\s+push\b.*(--force|\s-f\b)",
    r"\bchmod\s+(-R\s+)?0?777\b",
    r"\bsudo\b",
    r"\bmkfs(\.\w+)?\b",
    r"\bdd\s+.*\bof=/dev/",
    r"\b(terraform|tofu)\s+(apply|destroy)\b.*-auto-approve",
    r"\baws\s+s3\s+(rm|rb)\b.*--recursive",
    r"\bkubectl\s+delete\b",
    r"\bDROP\s+(TABLE|DATABASE)\b",
]


class AuditConfig(BaseModel):
    model_config = {"extra": "forbid"}

    deny_commands: list[str] = Field(
        default_factory=lambda: list(DEFAULT_DENY_COMMANDS),
        description="RE2 patterns of commands that are findings when an agent runs them",
    )
    edit_modes: list[str] = Field(
        default_factory=list, description="custom mode slugs that hold the edit group"
    )
    write_burst: WriteBurstConfig = Field(
        default_factory=WriteBurstConfig,
        description="the write-burst finding (the rule telemetry-quality's signal uses too)",
    )

    @model_validator(mode="before")
    @classmethod
    def _old_keys(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and "hmac_key_env" in raw:
            # the HMAC fallback only ran without the redaction engine, which is always installed
            raise ValueError(
                "audit.hmac_key_env is gone: commands always pass through the redaction "
                "engine (redaction.key); remove the key"
            )
        return refuse_old_keys(raw, "audit")

    @field_validator("deny_commands")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for i, pattern in enumerate(patterns):
            try:
                re2.compile(pattern)
            except re2.error:
                raise ValueError(f"item {i} is not a valid RE2 regex") from None
        return patterns

    def all_edit_modes(self) -> frozenset[str]:
        return frozenset(BUILTIN_EDIT_MODES) | frozenset(self.edit_modes)

    def deny_patterns(self) -> list[tuple[str, Any]]:
        return [(p, re2.compile(p)) for p in self.deny_commands]


def audit_config(section: dict[str, Any], source: str | None = None) -> AuditConfig:
    """Validate the section; a bad config fails with one line naming the key."""
    return validate_section(AuditConfig, "audit", section, source or "config")
