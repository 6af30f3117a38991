"""The `quality:` section of compliance.yaml, validated before the flow does any work."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from tasks.common.settings import validate_section


class SignalThresholds(BaseModel):
    """A signal fires when value >= max(min, factor x baseline) (see health.py)."""

    model_config = {"extra": "forbid"}

    auth_failures_min: int = Field(5, ge=1)
    auth_failures_factor: float = Field(3.0, ge=1)
    timeouts_min: int = Field(5, ge=1)
    timeout_rate_min: float = Field(0.25, gt=0, le=1)
    timeout_rate_factor: float = Field(3.0, ge=1)
    rollback_window_minutes: int = Field(60, ge=1)
    rollbacks_min: int = Field(5, ge=1)
    rollbacks_factor: float = Field(3.0, ge=1)
    write_burst_window_minutes: int = Field(5, ge=1)
    write_burst_min: int = Field(40, ge=1)
    write_burst_factor: float = Field(4.0, ge=1)
    spend_min_usd: float = Field(20.0, ge=0)
    spend_factor: float = Field(3.0, ge=1)
    provider_window_minutes: int = Field(60, ge=5, le=1440)
    provider_failures_min: int = Field(10, ge=1)
    provider_users_min: int = Field(2, ge=1)
    provider_rate_min: float = Field(0.2, gt=0, le=1)
    provider_rate_factor: float = Field(5.0, ge=1)


class QualityConfig(BaseModel):
    model_config = {"extra": "forbid"}

    max_quarantine_rate: float = Field(0.02, ge=0, le=1)
    max_request_cost: float = Field(100.0, gt=0, description="USD; a request above is corrupt")
    future_skew_seconds: int = Field(300, ge=0, description="clock skew allowed for 'not future'")
    recent_days: int = Field(7, ge=1, le=90, description="history window for row-count bounds")
    row_count_low_factor: float = Field(0.2, ge=0)
    row_count_high_factor: float = Field(5.0, ge=1)
    suites_dir: str | None = None
    signals: SignalThresholds = Field(default_factory=SignalThresholds)


def quality_config(section: dict[str, Any], source: str | None = None) -> QualityConfig:
    return validate_section(QualityConfig, "quality", section, source or "config")
