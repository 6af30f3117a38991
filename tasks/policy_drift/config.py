"""`policy_drift:` in compliance.yaml: policy-drift's Config (the job contract's model)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

JOB = "policy-drift"
BASELINE_KEY = (
    "policy/roo-code-settings.json"  # the baseline as distributed (autoImportSettingsPath)
)


class PolicyDriftConfig(BaseModel):
    """`policy_drift:` in compliance.yaml."""

    model_config = ConfigDict(extra="forbid")

    baseline_key: str = Field(
        default=BASELINE_KEY,
        min_length=1,
        max_length=512,
        description="Data-bucket key of the baseline settings file as distributed "
        "(`roo-cline.autoImportSettingsPath`); a digest no approved version has is a finding",
    )
    max_findings_per_user: int = Field(
        default=50, ge=1, le=10_000, description="Most drift findings reported per user"
    )
