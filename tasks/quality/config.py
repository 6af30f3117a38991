"""The `quality:` section of compliance.yaml, validated before the flow does any work."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from tasks.common.bursts import WriteBurstConfig, refuse_old_keys
from tasks.common.settings import validate_section

JOB = "telemetry-quality"


class SignalThresholds(BaseModel):
    """A signal fires when value >= max(min, factor x baseline) (see health.py)."""

    model_config = {"extra": "forbid"}

    @model_validator(mode="before")
    @classmethod
    def _old_keys(cls, raw: Any) -> Any:
        return refuse_old_keys(raw, "quality.signals")

    auth_failures_min: int = Field(
        5, ge=1, description="authentication failures a user needs before the signal can fire"
    )
    auth_failures_factor: float = Field(
        3.0, ge=1, description="times the user's baseline auth failures"
    )
    timeouts_min: int = Field(
        5, ge=1, description="timeouts a user needs before the signal can fire"
    )
    timeout_rate_min: float = Field(
        0.25, gt=0, le=1, description="share of requests timing out that can fire the signal"
    )
    timeout_rate_factor: float = Field(3.0, ge=1, description="times the baseline timeout rate")
    rollback_window_minutes: int = Field(
        60, ge=1, description="window of the checkpoint-rollback signal"
    )
    rollbacks_min: int = Field(
        5, ge=1, description="rollbacks in the window before the signal can fire"
    )
    rollbacks_factor: float = Field(3.0, ge=1, description="times the baseline rollbacks")
    write_burst: WriteBurstConfig = Field(
        default_factory=WriteBurstConfig,
        description="the file-write burst signal (the rule audit-trail's finding uses too)",
    )
    spend_min_usd: float = Field(
        20.0, ge=0, description="daily spend (USD) before the spend signal can fire"
    )
    spend_factor: float = Field(3.0, ge=1, description="times the baseline daily spend")
    provider_window_minutes: int = Field(
        60, ge=5, le=1440, description="window of the provider-outage signal"
    )
    provider_failures_min: int = Field(10, ge=1, description="provider failures in the window")
    provider_users_min: int = Field(2, ge=1, description="distinct users affected")
    provider_rate_min: float = Field(
        0.2, gt=0, le=1, description="share of the provider's requests failing"
    )
    provider_rate_factor: float = Field(
        5.0, ge=1, description="times the provider's baseline failure rate"
    )


class QualityConfig(BaseModel):
    model_config = {"extra": "forbid"}

    max_quarantine_rate: float = Field(
        0.02, ge=0, le=1, description="share of records quarantined above which the gate fails"
    )
    max_request_cost: float = Field(100.0, gt=0, description="USD; a request above is corrupt")
    future_skew_seconds: int = Field(300, ge=0, description="clock skew allowed for 'not future'")
    recent_days: int = Field(7, ge=1, le=90, description="history window for row-count bounds")
    row_count_low_factor: float = Field(
        0.2, ge=0, description="a day below this times the recent median row count fails"
    )
    row_count_high_factor: float = Field(
        5.0, ge=1, description="a day above this times the recent median row count fails"
    )
    suites_dir: str | None = Field(
        default=None, description="folder of Great Expectations suites replacing the built-in ones"
    )
    signals: SignalThresholds = Field(
        default_factory=SignalThresholds,
        description="fleet-health behaviour signals (value >= max(min, factor x baseline))",
    )


def quality_config(section: dict[str, Any], source: str | None = None) -> QualityConfig:
    return validate_section(QualityConfig, "quality", section, source or "config")
