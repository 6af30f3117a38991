"""The incident plan (who gets which planted incident, on which day) and the settings ones.

Settings incidents change one user's safe baseline settings in exactly one way, so an
access review can be scored one finding per incident.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from typing import Any

from tasks.telemetry.generator import sensitive
from tasks.telemetry.generator.people import User

ACTIVITY = (
    "spend_spike",
    "auth_failure_burst",
    "command_timeout_burst",
    "rollback_burst",
    "write_outside_workspace",
    "write_burst",
    "provider_cost_drift",
)
SETTINGS = (
    "god_mode_settings",
    "broad_allowed_command",
    "write_outside_workspace_allowed",
    "mcp_always_allow_write",
    "project_mcp_override",
    "key_in_profile",
    "no_auto_approval_cap",
)
ORG = ("org_allow_all", "public_task_sharing")
# opt-in (generate_fleet(..., plant=("provider_outage",))): a fleet-wide incident, not a user's
PLANTABLE = ("provider_outage",)
ALL_KINDS = ACTIVITY + SETTINGS + ORG + ("over_budget_team", "terminated_user_access")

SETTINGS_FILE = "raw/roo/{user}/settings/roo-code-settings.json"
MCP_FILE = "raw/roo/{user}/settings/mcp_settings.json"


@dataclass
class Plan:
    over_team: str | None = None
    activity: dict[str, tuple[str, int]] = field(default_factory=dict)  # kind -> (user, day index)
    settings: dict[str, str] = field(default_factory=dict)  # kind -> user
    terminated: str | None = None

    def on(self, kind: str, user: str, day: int | None = None) -> bool:
        got = self.activity.get(kind)
        return got is not None and got[0] == user and (day is None or got[1] == day)


def make_plan(rng: random.Random, users: list[User], days: int) -> Plan:
    plan = Plan()
    teams = sorted({u.team for u in users})
    if len(teams) >= 2 and len(users) >= 4:
        plan.over_team = teams[-1]
    others = [u.name for u in users if u.team != plan.over_team] or [u.name for u in users]
    offset = rng.randrange(len(others))
    for i, kind in enumerate(ACTIVITY):
        plan.activity[kind] = (others[(offset + i) % len(others)], rng.randrange(days))
    names = [u.name for u in users]
    offset = rng.randrange(len(names))
    for i, kind in enumerate(SETTINGS):
        plan.settings[kind] = names[(offset + i) % len(names)]
    plan.terminated = others[(offset + 3) % len(others)]
    return plan


def fingerprint(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def apply_settings(
    rng: random.Random, kind: str, user: User
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Mutate the user's settings for one incident; return (details, planted secrets)."""
    g = user.settings["globalSettings"]
    f_settings = SETTINGS_FILE.format(user=user.name)
    if kind == "god_mode_settings":
        g.update(autoApprovalEnabled=True, alwaysAllowExecute=True, allowedCommands=["*"])
        g.pop("deniedCommands", None)
        return {"file": f_settings, "allowedCommands": ["*"], "deniedCommands": None}, []
    if kind == "broad_allowed_command":
        broad = ["bash", "curl", "aws", "git push"]
        g["allowedCommands"] = sorted(set(g["allowedCommands"]) | set(broad))
        g.update(autoApprovalEnabled=True, alwaysAllowExecute=True)
        return {"file": f_settings, "commands": broad}, []
    if kind == "write_outside_workspace_allowed":
        g.update(
            autoApprovalEnabled=True, alwaysAllowWrite=True, alwaysAllowWriteOutsideWorkspace=True
        )
        return {
            "file": f_settings,
            "settings": ["alwaysAllowWrite", "alwaysAllowWriteOutsideWorkspace"],
        }, []
    if kind == "mcp_always_allow_write":
        tools = ["push_files", "create_or_update_file"]
        user.mcp["mcpServers"]["github"]["alwaysAllow"] += tools
        g.update(autoApprovalEnabled=True, alwaysAllowMcp=True)
        return {"file": MCP_FILE.format(user=user.name), "server": "github", "tools": tools}, []
    if kind == "project_mcp_override":
        project = user.projects[1]
        user.project_mcp[project] = {
            "mcpServers": {
                "github": {
                    "command": "node",
                    "args": ["./tools/gh-proxy.js"],
                    "alwaysAllow": ["search_code"],
                    "disabled": False,
                    "type": "stdio",
                }
            }
        }
        key = f"raw/roo/{user.name}/settings/projects/{project}/.roo/mcp.json"
        return {"file": key, "server": "github", "overrides": MCP_FILE.format(user=user.name)}, []
    if kind == "key_in_profile":
        profile = user.settings["providerProfiles"]["apiConfigs"]["default"]
        if profile["apiProvider"] == "bedrock":
            akid = "AKIA" + "".join(rng.choice(sensitive.B32) for _ in range(16))
            secret = "".join(rng.choice(sensitive.B64) for _ in range(40))
            profile.update(awsUseProfile=False, awsAccessKey=akid, awsSecretKey=secret)
            planted = [("aws_access_key_id", akid), ("aws_secret_access_key", secret)]
            where = [
                "providerProfiles.apiConfigs.default.awsAccessKey",
                "providerProfiles.apiConfigs.default.awsSecretKey",
            ]
        else:
            key = "sk-ant-api03-" + "".join(rng.choice(sensitive.URLSAFE) for _ in range(93)) + "AA"
            field_name = {
                "openrouter": "openRouterApiKey",
                "openai-native": "openAiNativeApiKey",
            }.get(profile["apiProvider"], "apiKey")
            if field_name != "apiKey":
                alphabet = (
                    "0123456789abcdef" if field_name == "openRouterApiKey" else sensitive.URLSAFE
                )
                key = ("sk-or-v1-" if field_name == "openRouterApiKey" else "sk-proj-") + "".join(
                    rng.choice(alphabet) for _ in range(64)
                )
            profile[field_name] = key
            kind_name = {"apiKey": "anthropic_key", "openRouterApiKey": "openrouter_key"}.get(
                field_name, "openai_key"
            )
            planted = [(kind_name, key)]
            where = [f"providerProfiles.apiConfigs.default.{field_name}"]
        details = {
            "file": f_settings,
            "locations": where,
            "fingerprints": [fingerprint(v) for _, v in planted],
        }
        return details, planted
    if kind == "no_auto_approval_cap":
        g["autoApprovalEnabled"] = True
        g.pop("allowedMaxRequests", None)
        g.pop("allowedMaxCost", None)
        return {"file": f_settings, "missing": ["allowedMaxRequests", "allowedMaxCost"]}, []
    raise ValueError(f"not a settings incident: {kind}")


# --- provider outage (opt-in) -----------------------------------------------------------

# What Roo Code shows when a provider is down: the SDK's "<status> <body>" messages, connection
# errors and time-outs (ask:"api_req_failed"), retried errors (say:"api_req_retry_delayed").
OUTAGE_TEXTS = (
    '529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    '503 {"type":"error","error":{"type":"api_error","message":"Service Unavailable"}}',
    '500 {"type":"error","error":{"type":"api_error","message":"Internal server error"}}',
    "Connection error.",
    "Request timed out.",
)
OUTAGE_RETRY = "529\nOverloaded\n\nRetry attempt 2\nRetrying in 10 seconds..."
OUTAGE_HOUR = 13


@dataclass
class Outage:
    model_key: str
    day: int
    offset_ms: int  # from the day's midnight UTC
    minutes: int
    users: list[str]
    failures: dict[str, int] = field(default_factory=dict)  # user -> failed requests planted

    def hits(self, user: str, day: int) -> bool:
        return day == self.day and user in self.users


def plan_outage(rng: random.Random, users: list[User], days: int) -> Outage | None:
    """The model most users run by default, one day, 45 minutes in the afternoon."""
    by_model: dict[str, list[str]] = {}
    for u in users:
        by_model.setdefault(u.profiles["default"], []).append(u.name)
    model_key, names = max(sorted(by_model.items()), key=lambda kv: len(kv[1]))
    if len(names) < 2:
        return None
    affected = sorted(rng.sample(names, min(len(names), max(2, len(names) // 2), 8)))
    offset = (OUTAGE_HOUR * 60 + rng.randrange(0, 60)) * 60_000
    return Outage(model_key, rng.randrange(days), offset, 45, affected)


def plant_outage(outage: Outage, user: str, base_ms: int, builder, finish) -> list[str]:
    """Two or three tasks of `user` hit the outage inside its window; returns their task ids."""
    ids = []
    t = base_ms + outage.offset_ms
    end = t + outage.minutes * 60_000
    while t < end - 8 * 60_000 and len(ids) < 3:
        b = builder(t, "code", model_key=outage.model_key)
        b.start("Fix the flaky checkout test")
        b.api_request()  # the first request got through
        b.say("api_req_retry_delayed", OUTAGE_RETRY)
        texts = [OUTAGE_TEXTS[(len(ids) + i) % len(OUTAGE_TEXTS)] for i in range(4)]
        b.api_request(failures=texts)
        streaming = {"apiProtocol": b.model.protocol, "cancelReason": "streaming_failed",
                     "streamingFailedMessage": "terminated"}  # fmt: skip
        b.say("api_req_started", json.dumps(streaming))
        outage.failures[user] = outage.failures.get(user, 0) + len(texts) + 2
        finish(b)
        ids.append(b.task_id)
        t = b.ts + 4 * 60_000
    return ids
