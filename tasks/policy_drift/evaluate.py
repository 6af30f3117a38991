"""The pure half of policy-drift: Inputs -> findings and summary (no I/O, no clock).

One `policy.drift` finding per user and deviation, with the setting (or behaviour), what
the policy expects, what was found and when it was first seen; `policy.unapproved_change`
when the organisation settings or the distributed baseline in effect has a digest no
approved version has; `policy.none_applied` when no approved version exists at all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from tasks.access.snapshot import UserSettings
from tasks.common.models import Finding, FindingStatus, Severity
from tasks.policy.schema import PolicyDoc, profile_model
from tasks.policy_drift.approvals import auto_approved
from tasks.policy_drift.config import PolicyDriftConfig
from tasks.policy_drift.model import InEffect, Inputs
from tasks.reports.summary import fmt  # values as a person reads them

# Roo Code splits a command line at these operators and checks every part.
_CHAIN = re.compile(r"&&|\|\||;|\||\n")
_SEVERITY = {
    "behaviour.command_denied": Severity.high,
    "behaviour.command_auto_approved": Severity.high,
    "globalSettings.alwaysAllowExecute": Severity.high,
    "globalSettings.allowedCommands": Severity.high,
}


def _parts(command: str) -> list[str]:
    return [p.strip().lower() for p in _CHAIN.split(command) if p.strip()]


def prefix_match(command: str, prefixes: list[str]) -> str | None:
    """The longest prefix (Roo Code's rule: case-insensitive, `*` any) matching any part."""
    best = None
    for part in _parts(command):
        for p in prefixes:
            hit = p == "*" or part.startswith(p.lower())
            if hit and (best is None or len(p) > len(best)):
                best = p
    return best


class _Collector:
    def __init__(self, cfg: PolicyDriftConfig) -> None:
        self.cfg = cfg
        self.findings: list[Finding] = []
        self.per_user: dict[str, int] = defaultdict(int)
        self.capped: set[str] = set()

    def drift(self, user: str, setting: str, expected: Any, actual: Any,
              first_seen: datetime | None, source: str | None, **extra: Any) -> None:  # fmt: skip
        if self.per_user[user] >= self.cfg.max_findings_per_user:
            self.capped.add(user)
            return
        self.per_user[user] += 1
        sev = _SEVERITY.get(setting, Severity.medium)
        when = first_seen.isoformat() if first_seen else None
        self.findings.append(
            Finding.make(
                "policy.drift", sev, FindingStatus.fail, f"user/{user}/{setting}",
                f"{user}: {setting}: {fmt(actual)} (the policy expects {fmt(expected)})",
                user=user, setting=setting, expected=expected, actual=actual, first_seen=when,
                source=source, **extra,
            )
        )  # fmt: skip


def _strings(value: Any) -> list[str]:
    """A settings list as Roo Code would read it; a bare string is one entry, a map its keys
    (a hand-edited settings file is not trusted to have the export's types)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, dict)):
        return [x for x in value if isinstance(x, str)]
    return []


def _settings(c: _Collector, doc: PolicyDoc, us: UserSettings, seen: dict[str, datetime]) -> None:
    _mcp(c, doc, us, seen)
    if us.settings_file is None:  # no export, or unreadable (its own finding): judge nothing
        return
    r, g, src = doc.rules, us.global_settings, us.settings_file
    when = seen.get(src or "")
    allow = doc.organization.allowList if doc.organization else None
    configs = us.provider_profiles.get("apiConfigs")
    for name, cfg in sorted((configs if isinstance(configs, dict) else {}).items()):
        provider, model = profile_model(cfg) if isinstance(cfg, dict) else (None, None)
        if allow is not None and not allow.permits(provider, model):
            c.drift(us.user, f"providerProfiles.apiConfigs.{name}",
                    "a provider/model in organization.allowList", f"{provider}/{model}", when, src)  # fmt: skip
    auto = g.get("autoApprovalEnabled") is True
    aa = r.autoApprove
    for key, allowed in (("alwaysAllowExecute", aa.execute), ("alwaysAllowWrite", aa.write),
                         ("alwaysAllowWriteOutsideWorkspace", aa.writeOutsideWorkspace),
                         ("alwaysAllowMcp", aa.mcp)):  # fmt: skip
        if auto and g.get(key) is True and not allowed:
            c.drift(us.user, f"globalSettings.{key}", False, True, when, src)
    for key in ("allowedMaxRequests", "allowedMaxCost"):
        cap, have = getattr(aa, key), g.get(key)
        if not auto or cap is None:
            continue
        if not isinstance(have, (int, float)) or isinstance(have, bool):
            shown = (
                "unset (no limit)"
                if have is None
                else f"{str(have)[:40]!r}, not a number (no limit)"
            )
            c.drift(us.user, f"globalSettings.{key}", f"at most {cap}", shown, when, src)
        elif have > cap:
            c.drift(us.user, f"globalSettings.{key}", f"at most {cap}", have, when, src)
    allowed_cmds = _strings(g.get("allowedCommands"))
    if r.commands.allow is not None:
        extra = sorted(a for a in allowed_cmds if a == "*" or not any(
            a.lower().startswith(p.lower()) for p in r.commands.allow))  # fmt: skip
        if extra:
            c.drift(us.user, "globalSettings.allowedCommands", f"within {fmt(r.commands.allow)}",
                    extra, when, src)  # fmt: skip
    denied = {x.lower() for x in _strings(g.get("deniedCommands"))}
    missing = [d for d in r.commands.deny if d.lower() not in denied]
    if missing:
        c.drift(us.user, "globalSettings.deniedCommands", f"to include {fmt(r.commands.deny)}",
                f"missing {fmt(missing)}", when, src)  # fmt: skip
    if r.allowedModes is not None and g.get("mode") and g["mode"] not in r.allowedModes:
        c.drift(
            us.user, "globalSettings.mode", f"one of {fmt(r.allowedModes)}", g["mode"], when, src
        )


def _mcp(c: _Collector, doc: PolicyDoc, us: UserSettings, seen: dict[str, datetime]) -> None:
    r = doc.rules
    if r.mcpServers is not None:
        for s in sorted(us.effective_mcp(), key=lambda s: (s.name, s.source)):
            if not s.disabled and s.name not in r.mcpServers:
                c.drift(us.user, f"mcpServers.{s.name}", f"one of {fmt(r.mcpServers)}",
                        "configured and enabled", seen.get(s.source), s.source)  # fmt: skip


def _behaviour(c: _Collector, doc: PolicyDoc, inputs: Inputs, users: set[str] | None) -> None:
    r = doc.rules
    allow = doc.organization.allowList if doc.organization else None
    for u in sorted(inputs.usage, key=lambda u: (u.user, u.kind, u.value)):
        if users is not None and u.user not in users:
            continue
        n = {"count": u.count}
        if u.kind == "provider_model" and allow is not None:
            provider, _, model = u.value.partition("/")
            if not allow.permits(provider, model):
                c.drift(u.user, "behaviour.provider_model", "a provider/model in organization.allowList", u.shown, u.first_seen, "validated/events", **n)  # fmt: skip
        elif u.kind == "mcp_server" and r.mcpServers is not None and u.value not in r.mcpServers:
            c.drift(u.user, "behaviour.mcp_server", f"one of {fmt(r.mcpServers)}", u.shown, u.first_seen, "validated/events", **n)  # fmt: skip
        elif u.kind == "mode" and r.allowedModes is not None and u.value not in r.allowedModes:
            c.drift(u.user, "behaviour.mode", f"one of {fmt(r.allowedModes)}", u.shown, u.first_seen, "validated/events", **n)  # fmt: skip
        elif u.kind == "command" and r.commands.deny:
            hit = prefix_match(u.value, r.commands.deny)
            if hit is not None:
                c.drift(u.user, "behaviour.command_denied", f"nothing starting with {hit!r}", u.shown, u.first_seen, "validated/events", denied_prefix=hit, **n)  # fmt: skip


def _unapproved(name: str, f: InEffect | None, approved: set[str]) -> Finding | None:
    if f is None:
        return None
    if f.sha256 is None:
        return Finding.make(
            "policy.unapproved_change", Severity.high, FindingStatus.error, f.uri,
            f"{f.uri}: {f.problem or 'unreadable'}; whether it is approved is unknown", file=f.uri,
        )  # fmt: skip
    if f.sha256 in approved:
        return None
    return Finding.make(
        "policy.unapproved_change", Severity.high, FindingStatus.fail, f.uri,
        f"the {name} in effect ({f.uri}, sha256 {f.sha256[:16]}…) matches no approved policy version",
        file=f.uri, sha256=f.sha256, approved_sha256=sorted(approved), section=name,
    )  # fmt: skip


def evaluate(
    inputs: Inputs, cfg: PolicyDriftConfig, users: set[str] | None = None
) -> tuple[list[Finding], dict[str, Any]]:
    """Every deviation from the latest approved policy, and files in effect no approval covers."""
    c = _Collector(cfg)
    approvals: dict[str, int] = {}
    for err in inputs.errors:
        c.findings.append(Finding.make(
            "policy.snapshot_unreadable", Severity.medium, FindingStatus.error, err.source,
            f"{err.source}: {err.problem}", scope=err.scope))  # fmt: skip
    for name, f in (("organization", inputs.org), ("baseline", inputs.baseline)):
        got = _unapproved(name, f, inputs.approved.get(name, set()))
        if got:
            c.findings.append(got)
    doc = inputs.policy
    if doc is None:
        c.findings.append(Finding.make(
            "policy.none_applied", Severity.high, FindingStatus.fail, "policy",
            "no approved policy version verifies under a trusted key: nothing governs the fleet's settings",
            problems=inputs.problems[:20]))  # fmt: skip
    else:
        for user in sorted(inputs.settings):
            if users is None or user in users:
                _settings(c, doc, inputs.settings[user], inputs.settings_seen)
        _behaviour(c, doc, inputs, users)
        approvals = auto_approved(c, doc, inputs, users)
    checked = {u for u in inputs.settings if users is None or u in users}
    checked |= {u.user for u in inputs.usage if users is None or u.user in users}
    by_setting: dict[str, int] = defaultdict(int)
    for f in c.findings:
        if f.check == "policy.drift":
            by_setting[f.details["setting"]] += 1
    summary = {
        "policy_version": inputs.policy_version,
        "policy_bundle": inputs.policy_bundle,
        "users_checked": len(checked),
        "users_with_drift": len(
            {f.details["user"] for f in c.findings if f.check == "policy.drift"}
        ),
        "deviations": sum(by_setting.values()),
        "deviations_by_setting": dict(sorted(by_setting.items())),
        "unapproved_files": sum(f.check == "policy.unapproved_change" for f in c.findings),
        "users_capped": sorted(c.capped),
        "commands_auto_approved_by_evidence": approvals,
        "problems": inputs.problems[:20],
    }
    return c.findings, summary
