"""Fleet users, the roster, and each user's Roo Code settings exports (safe baseline).

Settings incidents are applied on top of the safe baseline by `apply_settings_incident`,
so a clean fleet has nothing an access review should flag.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from typing import Any

import yaml

from tasks.telemetry.generator import content
from tasks.telemetry.generator.catalog import (
    DOMAIN,
    EVERYDAY,
    EVERYDAY_WEIGHTS,
    FIRST,
    LAST,
    MODELS,
    PROJECTS,
    TEAMS,
    VERSION_WEIGHTS,
    VERSIONS,
    VersionFlags,
    hexstr,
    pick_weighted,
)
from tasks.telemetry.generator.task import UserCtx

ROSTER_COLUMNS = ("user", "email", "team", "manager", "status", "aws_user")


@dataclass
class User:
    name: str
    team: str
    manager: str
    status: str
    aws_user: str
    ctx: UserCtx
    profiles: dict[str, str]  # profile name -> MODELS key
    projects: list[str]
    settings: dict[str, Any] = field(default_factory=dict)
    mcp: dict[str, Any] = field(default_factory=dict)
    project_mcp: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_modes: list[dict[str, Any]] = field(default_factory=list)
    has_data: bool = True

    @property
    def email(self) -> str:
        return f"{self.name}@{DOMAIN}"

    def roster_row(self) -> dict[str, str]:
        return {
            "user": self.name,
            "email": self.email,
            "team": self.team,
            "manager": self.manager,
            "status": self.status,
            "aws_user": self.aws_user,
        }


def _names(rng: random.Random, n: int) -> list[str]:
    pool = [f"{f}.{last}" for f in FIRST for last in LAST]
    return rng.sample(pool, n)


def make_users(
    rng: random.Random, n: int, extra_terminated: int = 2
) -> tuple[list[User], list[User]]:
    """(fleet users with data, roster-only terminated users without data)."""
    n_teams = max(2, min(len(TEAMS), n // 4 or 1))
    names = _names(rng, n + extra_terminated + n_teams)
    managers = {
        t: f"{names[n + extra_terminated + i]}@{DOMAIN}" for i, t in enumerate(TEAMS[:n_teams])
    }
    # Every version appears once before weights take over, so each layout is present.
    versions = list(VERSIONS)
    rng.shuffle(versions)
    users: list[User] = []
    for i in range(n + extra_terminated):
        team = TEAMS[i % n_teams]
        version = (
            versions[i] if i < len(versions) else pick_weighted(rng, VERSIONS, VERSION_WEIGHTS)
        )
        platform = rng.choice(["darwin", "darwin", "linux", "win32"])
        name = names[i]
        home = {"darwin": f"/Users/{name}", "linux": f"/home/{name}", "win32": f"c:/Users/{name}"}[
            platform
        ]
        ctx = UserCtx(
            name=name,
            team=team,
            flags=VersionFlags(version),
            platform=platform,
            home=home,
            records_messages=rng.random() < 0.15,
            checkpoints=rng.random() < 0.7,
            mcp_servers=("github", "context7", "postgres"),
        )
        default = pick_weighted(rng, EVERYDAY, EVERYDAY_WEIGHTS)
        profiles = {"default": default}
        if rng.random() < 0.4:
            profiles["architect"] = pick_weighted(rng, EVERYDAY, EVERYDAY_WEIGHTS)
        user = User(
            name=name,
            team=team,
            manager=managers[team],
            status="active",
            aws_user=name if rng.random() < 0.7 else "",
            ctx=ctx,
            profiles=profiles,
            projects=rng.sample(PROJECTS, 2),
        )
        base_settings(rng, user)
        users.append(user)
    fleet, extra = users[:n], users[n:]
    for u in extra:
        u.status, u.has_data = "terminated", False
    return fleet, extra


def _profile(rng: random.Random, model_key: str) -> dict[str, Any]:
    m = MODELS[model_key]
    cfg: dict[str, Any] = {"id": hexstr(rng, 10), "apiProvider": m.provider}
    if m.provider == "openrouter":
        cfg["openRouterModelId"] = m.model_id
    else:
        cfg["apiModelId"] = m.model_id
    if m.provider == "bedrock":
        cfg.update(
            awsRegion="us-east-1",
            awsUseCrossRegionInference=True,
            awsUseProfile=True,
            awsProfile="dev-sso",
        )
    return cfg


def base_settings(rng: random.Random, user: User) -> None:
    auto = rng.random() < 0.7
    configs = {name: _profile(rng, key) for name, key in user.profiles.items()}
    provider_profiles: dict[str, Any] = {
        "currentApiConfigName": "default",
        "apiConfigs": configs,
        "modeApiConfigs": {},
    }
    if "architect" in configs:
        provider_profiles["modeApiConfigs"]["architect"] = configs["architect"]["id"]
    user.settings = {
        "providerProfiles": provider_profiles,
        "globalSettings": {
            "autoApprovalEnabled": auto,
            "alwaysAllowReadOnly": True,
            "alwaysAllowReadOnlyOutsideWorkspace": False,
            "alwaysAllowWrite": auto and rng.random() < 0.6,
            "alwaysAllowWriteOutsideWorkspace": False,
            "alwaysAllowWriteProtected": False,
            "alwaysAllowExecute": auto and rng.random() < 0.5,
            "alwaysAllowMcp": auto and rng.random() < 0.5,
            "alwaysAllowModeSwitch": True,
            "alwaysAllowSubtasks": True,
            "alwaysAllowFollowupQuestions": False,
            "allowedMaxRequests": rng.choice([25, 50, 100]),
            "allowedMaxCost": rng.choice([2, 5, 10]),
            "allowedCommands": sorted(rng.sample(content.SAFE_ALLOWED, 4)),
            "deniedCommands": ["rm -rf", "sudo", "git push --force"],
            "commandExecutionTimeout": 60,
            "enableCheckpoints": user.ctx.checkpoints,
            "mode": "code",
            "language": "en",
            "telemetrySetting": "enabled",
            "mcpEnabled": True,
            "diffEnabled": True,
            "writeDelayMs": 1000,
        },
    }
    user.mcp = {
        "mcpServers": {
            "github": {
                "command": "npx",
                "args": ["-y", "@modelcontextprotocol/server-github"],
                "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "${env:GITHUB_TOKEN}"},
                "alwaysAllow": ["search_code", "get_issue"],
                "disabled": False,
                "type": "stdio",
            },
            "context7": {
                "type": "streamable-http",
                "url": "https://mcp.context7.com/mcp",
                "alwaysAllow": ["resolve-library-id", "get-library-docs"],
                "disabled": False,
            },
            "postgres": {
                "command": "npx",
                "args": [
                    "-y",
                    "@modelcontextprotocol/server-postgres",
                    "postgresql://db.internal.acme.io:5432/ledger",
                ],
                "env": {"PGUSER": "readonly", "PGPASSWORD": "${env:LEDGER_RO_PASSWORD}"},
                "alwaysAllow": [],
                "disabled": False,
                "type": "stdio",
            },
        }
    }
    # A project may add its own server (not an override: a new name).
    user.project_mcp = {
        user.projects[0]: {
            "mcpServers": {
                "sentry": {
                    "type": "sse",
                    "url": "https://mcp.sentry.dev/sse",
                    "alwaysAllow": [],
                    "disabled": False,
                }
            }
        }
    }
    user.custom_modes = [
        {
            "slug": "docs-writer",
            "name": "Docs Writer",
            "roleDefinition": "You write and maintain Markdown documentation.",
            "groups": [
                "read",
                ["edit", {"fileRegex": "\\.md$", "description": "Markdown files only"}],
            ],
            "source": "global",
        }
    ]


def settings_files(user: User) -> dict[str, bytes]:
    """Relative keys under raw/roo/<user>/settings/ -> bytes."""
    import orjson

    out = {
        "roo-code-settings.json": orjson.dumps(user.settings, option=orjson.OPT_INDENT_2),
        "mcp_settings.json": orjson.dumps(user.mcp, option=orjson.OPT_INDENT_2),
        "custom_modes.yaml": yaml.safe_dump(
            {"customModes": user.custom_modes}, sort_keys=False
        ).encode(),
    }
    for project, cfg in sorted(user.project_mcp.items()):
        out[f"projects/{project}/.roo/mcp.json"] = orjson.dumps(cfg, option=orjson.OPT_INDENT_2)
    return out


def org_settings(allow_all: bool, public_sharing: bool) -> dict[str, Any]:
    providers: dict[str, Any] = {}
    for m in MODELS.values():
        providers.setdefault(m.provider, {"allowAll": False, "models": []})["models"].append(
            m.model_id
        )
    return {
        "version": 7,
        "cloudSettings": {
            "recordTaskMessages": True,
            "enableTaskSharing": True,
            "allowPublicTaskSharing": public_sharing,
            "taskShareExpirationDays": 30,
            "allowMembersViewAllTasks": False,
        },
        "defaultSettings": {
            "enableCheckpoints": True,
            "maxOpenTabsContext": 20,
            "allowedMaxRequests": 50,
            "allowedMaxCost": 5,
        },
        "allowList": {"allowAll": allow_all, "providers": providers},
        "hiddenMcps": [],
        "mcps": [],
    }


def manager_rows(users: list[User]) -> list[dict[str, str]]:
    """Team managers are people in the roster too (access reviewers must resolve to one)."""
    teams = {u.manager: u.team for u in sorted(users, key=lambda u: u.name)}
    return [
        {
            "user": email.split("@")[0],
            "email": email,
            "team": team,
            "manager": "",
            "status": "active",
            "aws_user": "",
        }
        for email, team in sorted(teams.items())
    ]


def roster_csv(users: list[User]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=ROSTER_COLUMNS, lineterminator="\n")
    writer.writeheader()
    rows = [u.roster_row() for u in users] + manager_rows(users)
    for row in sorted(rows, key=lambda r: r["user"]):
        writer.writerow(row)
    return buf.getvalue().encode()
