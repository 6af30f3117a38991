"""`policy:` in compliance.yaml — who approves policy changes and how many must."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from tasks.common.settings import validate_section

USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$"


class PolicyConfig(BaseModel):
    model_config = {"extra": "allow"}  # the rules themselves live beside these keys

    approvers: list[str] = Field(
        default_factory=list, description="user names allowed to approve a policy change"
    )
    required_approvals: int = Field(
        default=1, ge=1, le=20, description="approvals a change needs, the proposer not counted"
    )  # not counting the proposer
    proposal_expiry_days: int = Field(
        default=14, ge=1, le=365, description="days a proposal stays open"
    )

    @field_validator("approvers")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        import re

        bad = [a for a in v if not re.match(USER_PATTERN, str(a))]
        if bad:
            raise ValueError(f"not a user name: {bad[0]!r}")
        return sorted(set(v))


def parse_policy_config(raw: dict[str, Any] | None, source: str) -> PolicyConfig:
    return validate_section(PolicyConfig, "policy", raw, source)
