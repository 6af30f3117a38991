"""Typed snapshots: what the collectors build and the checks read (never AWS itself)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

ROOT_USER = "<root_account>"


class AccessKey(BaseModel):
    key_id: str | None = None  # None when only the credential report is known
    slot: int = 1
    active: bool = False
    last_rotated: datetime | None = None  # creation or last rotation
    last_used: datetime | None = None  # None = never used
    last_used_service: str | None = None


class Policy(BaseModel):
    name: str
    arn: str | None = None
    document: dict[str, Any] | None = None  # None = document unknown
    via: str = "user"  # user | group:<name>
    inline: bool = False
    # analysis results, computed once per policy (group policies are shared by many users)
    _admin: bool | None = PrivateAttr(default=None)
    _grants: dict[str, frozenset[str]] | None = PrivateAttr(default=None)


class IamUser(BaseModel):
    name: str
    arn: str = ""
    created: datetime | None = None
    password_enabled: bool = False
    password_last_used: datetime | None = None  # None = never (no_information) or N/A
    password_last_changed: datetime | None = None
    mfa_active: bool = False
    mfa_devices: list[str] = Field(default_factory=list)
    access_keys: list[AccessKey] = Field(default_factory=list)
    policies: list[Policy] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    @property
    def active_keys(self) -> list[AccessKey]:
        return [k for k in self.access_keys if k.active]

    @property
    def has_credentials(self) -> bool:
        return self.password_enabled or bool(self.active_keys)


class RootAccount(BaseModel):
    arn: str = ""
    mfa_active: bool = False
    access_key_1_active: bool = False
    access_key_2_active: bool = False
    password_last_used: datetime | None = None


class IamSnapshot(BaseModel):
    account: str = ""
    report_generated_at: datetime | None = None
    users: dict[str, IamUser] = Field(default_factory=dict)
    root: RootAccount | None = None  # None when the report has no <root_account> row

    def key_index(self) -> dict[str, tuple[IamUser, AccessKey]]:
        return {k.key_id: (u, k) for u in self.users.values() for k in u.access_keys if k.key_id}


class McpServer(BaseModel):
    name: str
    source: str  # the file it came from
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    always_allow: list[str] = Field(default_factory=list)
    disabled: bool = False
    type: str | None = None
    url: str | None = None


class CustomMode(BaseModel):
    slug: str
    name: str = ""
    groups: list[Any] = Field(default_factory=list)


class UserSettings(BaseModel):
    """One fleet user's Roo Code governance settings (from raw/roo/<user>/settings/)."""

    user: str
    settings_file: str | None = None
    provider_profiles: dict[str, Any] = Field(default_factory=dict)
    global_settings: dict[str, Any] = Field(default_factory=dict)
    mcp_global: dict[str, McpServer] = Field(default_factory=dict)
    mcp_projects: dict[str, dict[str, McpServer]] = Field(default_factory=dict)
    custom_modes: list[CustomMode] = Field(default_factory=list)

    def g(self, name: str, default: Any = None) -> Any:
        return self.global_settings.get(name, default)

    def effective_mcp(self) -> list[McpServer]:
        """Servers as Roo Code runs them: a project's server replaces the global one."""
        overridden = {name for p in self.mcp_projects.values() for name in p}
        servers = [s for n, s in self.mcp_global.items() if n not in overridden]
        for project in self.mcp_projects.values():
            servers.extend(project.values())
        return servers


class OrgSettings(BaseModel):
    source: str = ""
    allow_list: dict[str, Any] = Field(default_factory=dict)
    cloud_settings: dict[str, Any] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict)


class RosterEntry(BaseModel):
    user: str
    email: str = ""
    team: str = ""
    manager: str = ""
    status: str = "active"
    aws_user: str = ""

    @property
    def active(self) -> bool:
        return self.status.strip().lower() == "active"


class CollectError(BaseModel):
    """A source that could not be read; becomes an error finding naming the file."""

    source: str
    problem: str
    scope: str = "settings"  # iam | settings | org | roster


class AccessSnapshot(BaseModel):
    now: datetime
    iam: IamSnapshot | None = None  # None = not collected (IAM checks then report error)
    iam_error: str | None = None
    settings: dict[str, UserSettings] = Field(default_factory=dict)
    org: OrgSettings | None = None
    roster: dict[str, RosterEntry] | None = None
    errors: list[CollectError] = Field(default_factory=list)

    def roster_by_aws_user(self) -> dict[str, RosterEntry]:
        return {r.aws_user: r for r in (self.roster or {}).values() if r.aws_user}
