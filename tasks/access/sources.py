"""Settings, organisation and roster collectors over a data store (local folder or S3)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from tasks.access.snapshot import (
    CollectError,
    CustomMode,
    McpServer,
    OrgSettings,
    RosterEntry,
    UserSettings,
)
from tasks.common.layout import ORG_SETTINGS_KEY, RAW_ROO, ROSTER_KEY
from tasks.common.storage import Store

ROSTER_COLUMNS = ["user", "email", "team", "manager", "status", "aws_user"]
SETTINGS_FILE = "roo-code-settings.json"


def _servers(data: Any, source: str, scope: str) -> dict[str, McpServer]:
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise ValueError("expected an object with an 'mcpServers' object")
    out = {}
    for name, spec in (data.get("mcpServers") or {}).items():
        if not isinstance(spec, dict):
            raise ValueError(f"server {name!r} is not an object")
        out[name] = McpServer(
            name=name,
            source=scope,
            command=spec.get("command"),
            args=[str(a) for a in spec.get("args") or []],
            env={k: str(v) for k, v in (spec.get("env") or {}).items()},
            headers={k: str(v) for k, v in (spec.get("headers") or {}).items()},
            always_allow=list(spec.get("alwaysAllow") or []),
            disabled=bool(spec.get("disabled", False)),
            type=spec.get("type"),
            url=spec.get("url"),
        )
    return out


def _parse_settings_export(data: Any, us: UserSettings) -> None:
    if not isinstance(data, dict) or not ({"providerProfiles", "globalSettings"} & data.keys()):
        raise ValueError("expected {providerProfiles, globalSettings}")
    profiles, glob = data.get("providerProfiles") or {}, data.get("globalSettings") or {}
    if not isinstance(profiles, dict) or not isinstance(glob, dict):
        raise ValueError("providerProfiles and globalSettings must be objects")
    us.provider_profiles, us.global_settings = profiles, glob


def _parse_modes(data: Any) -> list[CustomMode]:
    if data is None:
        return []
    if not isinstance(data, dict) or not isinstance(data.get("customModes", []), list):
        raise ValueError("expected a mapping with a 'customModes' list")
    return [CustomMode(**m) for m in data.get("customModes") or []]


def collect_settings(
    store: Store, users: set[str] | None = None
) -> tuple[dict[str, UserSettings], list[CollectError], list[str]]:
    """Every user's settings files. A malformed file is an error naming it; others continue.

    Returns (settings by user, errors, the URIs read).
    """
    result: dict[str, UserSettings] = {}
    errors: list[CollectError] = []
    read: list[str] = []
    for key in store.keys(RAW_ROO):
        parts = key[len(RAW_ROO) :].split("/")
        if len(parts) < 3 or parts[1] != "settings":
            continue
        user, rel = parts[0], "/".join(parts[2:])
        if users is not None and user not in users:
            continue
        kind = _kind(rel)
        if kind is None:
            continue
        uri = store.uri(key)
        us = result.setdefault(user, UserSettings(user=user))
        try:
            raw = store.read(key) or b""
            read.append(uri)
            if kind == "modes":
                us.custom_modes = _parse_modes(yaml.safe_load(raw.decode("utf-8")))
                continue
            data = orjson.loads(raw)
            if kind == "export":
                _parse_settings_export(data, us)
                us.settings_file = uri
            elif kind == "mcp_global":
                us.mcp_global = _servers(data, uri, "global")
            else:
                us.mcp_projects[parts[3]] = _servers(data, uri, f"project:{parts[3]}")
        except (ValueError, UnicodeDecodeError, yaml.YAMLError, ValidationError, TypeError) as exc:
            problem = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            if isinstance(exc, ValidationError):  # never echo input values: they may be secrets
                err = exc.errors()[0]
                problem = f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
            elif isinstance(exc, json.JSONDecodeError):
                problem = f"invalid JSON at line {exc.lineno} column {exc.colno}"
            elif isinstance(exc, yaml.YAMLError):
                problem = "invalid YAML"
            errors.append(CollectError(source=uri, problem=problem, scope="settings"))
    return result, errors, read


def _kind(rel: str) -> str | None:
    if rel == SETTINGS_FILE:
        return "export"
    if rel == "mcp_settings.json":
        return "mcp_global"
    if rel == "custom_modes.yaml":
        return "modes"
    parts = rel.split("/")
    if len(parts) == 4 and parts[0] == "projects" and parts[2:] == [".roo", "mcp.json"]:
        return "mcp_project"
    return None


def collect_org(store: Store) -> tuple[OrgSettings | None, CollectError | None]:
    raw = store.read(ORG_SETTINGS_KEY)
    uri = store.uri(ORG_SETTINGS_KEY)
    if raw is None:
        return None, CollectError(source=uri, problem="not found", scope="org")
    try:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("top level must be an object")
        return (
            OrgSettings(
                source=uri,
                allow_list=data.get("allowList") or {},
                cloud_settings=data.get("cloudSettings") or {},
                raw=data,
            ),
            None,
        )
    except (ValueError, ValidationError) as exc:
        problem = "invalid JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)[:200]
        return None, CollectError(source=uri, problem=problem, scope="org")


def parse_roster(content: bytes, source: str) -> tuple[dict[str, RosterEntry], list[CollectError]]:
    """Roster rows by user; a bad row is an error naming the line, the others continue."""
    text = content.decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return {}, [
            CollectError(source=source, problem=f"missing columns {missing}", scope="roster")
        ]
    out: dict[str, RosterEntry] = {}
    errors: list[CollectError] = []
    for lineno, row in enumerate(reader, start=2):
        user = (row.get("user") or "").strip()
        if not user or user in out:
            problem = "empty user" if not user else f"duplicate user {user!r}"
            errors.append(
                CollectError(source=f"{source}:{lineno}", problem=problem, scope="roster")
            )
            continue
        out[user] = RosterEntry(**{c: (row.get(c) or "").strip() for c in ROSTER_COLUMNS})
    return out, errors


def collect_roster(store: Store) -> tuple[dict[str, RosterEntry] | None, list[CollectError]]:
    raw = store.read(ROSTER_KEY)
    uri = store.uri(ROSTER_KEY)
    if raw is None:
        return None, [CollectError(source=uri, problem="not found", scope="roster")]
    try:
        return parse_roster(raw, uri)
    except UnicodeDecodeError:
        return None, [CollectError(source=uri, problem="not UTF-8", scope="roster")]
