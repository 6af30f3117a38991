"""What policy-drift's collect step hands to its pure evaluate step."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tasks.access.snapshot import CollectError, UserSettings
from tasks.common.models import Period
from tasks.policy.schema import PolicyDoc


@dataclass
class Usage:
    """One thing a user did in the period, aggregated: a provider/model, an MCP server, a
    mode or a command (`shown` is what a report may print: commands are redacted)."""

    user: str
    kind: str  # provider_model | mcp_server | mode | command | command_auto | command_unknown
    value: str
    shown: str
    first_seen: datetime
    count: int


@dataclass
class InEffect:
    """A file in effect (organisation settings, distributed baseline) and its digest."""

    uri: str
    sha256: str | None  # None: present but unreadable
    doc: dict[str, Any] | None = None
    problem: str | None = None


@dataclass
class Inputs:
    period: Period
    now: datetime
    policy: PolicyDoc | None  # the latest applied version (from verified bundles)
    policy_version: int
    policy_bundle: str | None
    approved: dict[str, set[str]]  # "organization" | "baseline" -> digests of every version
    settings: dict[str, UserSettings]
    settings_seen: dict[str, datetime]  # settings file URI -> when it was collected
    usage: list[Usage]
    org: InEffect | None
    baseline: InEffect | None
    errors: list[CollectError] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # bundles that did not verify, …
    inputs: list[dict[str, Any]] = field(default_factory=list)
