"""The cost-budget configuration: sections `budget:` (prices, alerts, detectors) and
`budgets:` (rules), validated with pydantic before the flow starts.

Budget rules are registered by name (`type`) with a schema, like Cloud Custodian's
registries; a bad file fails with one message naming the key path, e.g.
`compliance.yaml: budgets.rules[2].threshold.warn: must be > 0`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, Field, SecretStr, ValidationError, field_validator

from tasks.common.errors import ConfigError

Scope = Literal["org", "team", "user", "mode", "provider", "model"]
PeriodKind = Literal["day", "week", "month"]


class Limit(BaseModel):
    """A threshold: dollars (`12.5`, `"$12.5"`), percent of the budget (`"80%"`) or a multiple (`"10x"`)."""

    value: float
    unit: Literal["usd", "pct", "x"]

    def resolve(self, amount: float | None = None, median: float | None = None) -> float | None:
        if self.unit == "usd":
            return self.value
        if self.unit == "pct":
            return None if amount is None else amount * self.value / 100.0
        return None if median is None else median * self.value


def _parse_limit(v: Any) -> Any:
    if isinstance(v, Limit | dict):
        return v
    if isinstance(v, bool):
        raise ValueError("must be a number, '$N', 'N%' or 'Nx'")
    unit = "usd"
    if isinstance(v, str):
        s = v.strip().replace(",", "")
        if s.endswith("%"):
            unit, s = "pct", s[:-1]
        elif s.lower().endswith("x"):
            unit, s = "x", s[:-1]
        elif s.startswith("$"):
            s = s[1:]
        try:
            v = float(s)
        except ValueError:
            raise ValueError("must be a number, '$N', 'N%' or 'Nx'") from None
    if not isinstance(v, int | float):
        raise ValueError("must be a number, '$N', 'N%' or 'Nx'")
    if v <= 0:
        raise ValueError("must be > 0")
    return {"value": float(v), "unit": unit}


LimitField = Annotated[Limit, BeforeValidator(_parse_limit)]


class Threshold(BaseModel):
    model_config = {"extra": "forbid"}
    warn: LimitField | None = Field(
        default=None, description="warn above this: '$N', 'N%' of the budget, or 'Nx' the median"
    )
    fail: LimitField | None = Field(
        default=None, description="fail above this: '$N', 'N%' of the budget, or 'Nx' the median"
    )


class RuleBase(BaseModel):
    model_config = {"extra": "forbid"}
    name: str = Field(min_length=1, description="rule name shown in findings")
    type: str = Field(description="rule type: spend or task_cap")
    severity: Literal["critical", "high", "medium", "low"] = Field(
        default="high", description="severity of a breach"
    )


RULE_TYPES: dict[str, type[RuleBase]] = {}


def register(name: str):
    """Register a rule schema under its `type` name."""

    def deco(cls: type[RuleBase]) -> type[RuleBase]:
        RULE_TYPES[name] = cls
        return cls

    return deco


@register("spend")
class SpendRule(RuleBase):
    """A budget of `amount` USD per `period` for a scope (every value, or the one `match`)."""

    scope: Scope = Field(
        default="org",
        description="what the budget is per: org, team, user, mode, provider or model",
    )
    match: str | None = Field(
        default=None, description="only this value of the scope (e.g. one team); unset: each value"
    )
    period: PeriodKind = Field(default="month", description="budget period")
    amount: float = Field(description="budget per period, USD")
    threshold: Threshold = Field(
        default_factory=lambda: Threshold(fail=Limit(value=100, unit="pct")),
        description="warn/fail limits: '$N' or 'N%' of the amount; default: fail at 100%",
    )
    forecast: bool = Field(
        default=True, description="also fail on a forecast breach before period end"
    )

    @field_validator("amount")
    @classmethod
    def _pos(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be > 0")
        return v

    @field_validator("threshold")
    @classmethod
    def _units(cls, v: Threshold) -> Threshold:
        for lim in (v.warn, v.fail):
            if lim is not None and lim.unit == "x":
                raise ValueError("spend thresholds are '$N' or 'N%', not multiples")
        return v


@register("task_cap")
class TaskCapRule(RuleBase):
    """A cap on one task's cost (subtasks rolled up): `$N`, or `Nx` the median cost of
    tasks with the same mode and model."""

    threshold: Threshold = Field(
        description="warn/fail cost of one task: '$N' or 'Nx' the median of its peers"
    )
    mode: str | None = Field(default=None, description="only tasks in this Roo Code mode")
    model: str | None = Field(default=None, description="only tasks on this model")
    min_tasks: int = Field(
        default=5, ge=1, description="peers needed before an 'Nx' median applies"
    )  # for Nx: the median needs a few peers

    @field_validator("threshold")
    @classmethod
    def _units(cls, v: Threshold) -> Threshold:
        if v.warn is None and v.fail is None:
            raise ValueError("needs warn or fail")
        for lim in (v.warn, v.fail):
            if lim is not None and lim.unit == "pct":
                raise ValueError("task caps are '$N' or 'Nx' (multiple of the median)")
        return v


class PriceOverride(BaseModel):
    model_config = {"extra": "forbid"}
    provider: str | None = Field(default=None, description="provider name; unset: any")
    model: str = Field(min_length=1, description="model id")
    input: float = Field(ge=0, description="USD per million input tokens")
    output: float = Field(ge=0, description="USD per million output tokens")
    cache_write: float = Field(default=0.0, ge=0, description="USD per million cache-write tokens")
    cache_read: float = Field(default=0.0, ge=0, description="USD per million cache-read tokens")


class DriftSettings(BaseModel):
    model_config = {"extra": "forbid"}
    pct: float = Field(
        default=5.0, gt=0, description="recomputed vs reported cost gap (%) that is a finding"
    )
    floor_usd: float = Field(default=0.05, ge=0, description="ignore gaps below this many USD")
    # a model inferred from costs: fitted prices within this % of a price-table model's
    match_tolerance_pct: float = Field(
        default=10.0,
        gt=0,
        le=100,
        description="fitted prices within this % of a price-table model identify it",
    )


class AnomalySettings(BaseModel):
    model_config = {"extra": "forbid"}
    scopes: list[Scope] = Field(
        default_factory=lambda: ["org", "team", "user"],
        description="scopes watched for spend anomalies",
    )
    floor_usd: float = Field(default=5.0, ge=0, description="ignore days below this spend")
    z: float = Field(
        default=3.5, gt=0, description="robust z-score (median/MAD) that is an anomaly"
    )
    ratio_7d: float = Field(
        default=3.0, gt=1, description="times the 7-day average that is an anomaly"
    )
    wow: float = Field(default=3.0, gt=1, description="times the same weekday last week")
    pct_fallback: float = Field(
        default=100.0, gt=0, description="% above the median when MAD and mean deviation are both 0"
    )  # MAD and mean deviation both 0
    history_days: int = Field(
        default=28, ge=7, le=366, description="history read for baselines, days"
    )
    min_history: int = Field(
        default=7, ge=3, description="days of history before anomalies are judged"
    )


class BudgetSettings(BaseModel):
    """Section `budget:`."""

    model_config = {"extra": "forbid"}
    prices: list[PriceOverride] = Field(
        default_factory=list, description="price overrides per model (USD per million tokens)"
    )
    webhook_url: SecretStr | None = Field(
        default=None, description="legacy: a webhook for budget alerts; prefer notifications.routes"
    )  # may embed a token: masked in reprs and logs
    cooldown_hours: float = Field(
        default=24.0, ge=0, description="hours before the same budget alert is sent again"
    )
    ewma_alpha: float = Field(default=0.3, gt=0, le=1, description="smoothing of the EWMA forecast")
    # A forecasted breach needs both projections over the limit by default (less noise).
    forecast_method: Literal["linear", "ewma", "either", "both"] = Field(
        default="both", description="which projection(s) must exceed the limit"
    )
    drift: DriftSettings = Field(
        default_factory=DriftSettings, description="recomputed vs reported cost"
    )
    anomalies: AnomalySettings = Field(
        default_factory=AnomalySettings, description="spend anomaly detectors"
    )


class BudgetsSection(BaseModel):
    """Section `budgets:`."""

    model_config = {"extra": "forbid", "arbitrary_types_allowed": True}
    timezone: str = Field(default="UTC", description="IANA time zone of budget periods")
    week_start: Literal["monday", "sunday"] = Field(
        default="monday", description="first day of a weekly period"
    )
    rules: list[RuleBase] = Field(
        default_factory=list, description="budget rules (type spend or task_cap)"
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class CostBudgetConfig(BaseModel):
    model_config = {"arbitrary_types_allowed": True}
    budget: BudgetSettings
    budgets: BudgetsSection


def _loc(loc: tuple) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _msg(err: dict) -> str:
    msg = err["msg"]
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _fail(source: str, prefix: str, exc: ValidationError) -> ConfigError:
    err = exc.errors()[0]
    path = _loc(tuple(err["loc"]))
    return ConfigError(f"{source}: {prefix}{'.' + path if path else ''}: {_msg(err)}")


def parse_config(
    budget: dict[str, Any] | None, budgets: dict[str, Any] | None, source: str = "config"
) -> CostBudgetConfig:
    """Validate both sections; raise ConfigError with one line naming the key path."""
    try:
        settings = BudgetSettings.model_validate(budget or {})
    except ValidationError as exc:
        raise _fail(source, "budget", exc) from None
    raw = dict(budgets or {})
    rules_raw = raw.pop("rules", []) or []
    try:
        section = BudgetsSection.model_validate(raw)
    except ValidationError as exc:
        raise _fail(source, "budgets", exc) from None
    try:
        ZoneInfo(section.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{source}: budgets.timezone: unknown time zone") from None
    if not isinstance(rules_raw, list):
        raise ConfigError(f"{source}: budgets.rules: must be a list")
    rules: list[RuleBase] = []
    names: set[str] = set()
    for i, r in enumerate(rules_raw):
        where = f"budgets.rules[{i}]"
        if not isinstance(r, dict):
            raise ConfigError(f"{source}: {where}: must be a mapping")
        kind = r.get("type")
        if kind not in RULE_TYPES:
            known = ", ".join(sorted(RULE_TYPES))
            raise ConfigError(f"{source}: {where}.type: unknown rule type (known: {known})")
        try:
            rule = RULE_TYPES[kind].model_validate(r)
        except ValidationError as exc:
            raise _fail(source, where, exc) from None
        if rule.name in names:
            raise ConfigError(f"{source}: {where}.name: duplicate rule name")
        names.add(rule.name)
        rules.append(rule)
    section.rules = rules
    return CostBudgetConfig(budget=settings, budgets=section)


def parse_budget(raw: dict[str, Any] | None, source: str = "config") -> BudgetSettings:
    return parse_config(raw, None, source).budget


def parse_budgets(raw: dict[str, Any] | None, source: str = "config") -> BudgetsSection:
    return parse_config(None, raw, source).budgets


def load_cost_budget_config(config_path: str | None = None) -> tuple[Any, CostBudgetConfig]:
    """Load compliance.yaml (via tasks.common.settings) and validate our two sections."""
    from tasks.common.settings import load_config

    app = load_config(config_path)
    source = app.source or "config"
    return app, parse_config(app.section("budget"), app.section("budgets"), source)
