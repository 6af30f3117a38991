"""Roo Code's global state from VS Code's `state.vscdb`, as a settings export.

The database is SQLite, table `ItemTable(key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)`
(microsoft/vscode src/vs/base/parts/storage/node/storage.ts). Roo Code's row is keyed by
the id as published (`RooVeterinaryInc.roo-cline`), matched case-insensitively. It is
opened through a `file:…?mode=ro&immutable=1` URI: read-only, no lock taken, no journal
or WAL touched, so a running editor is neither blocked nor corrupted. Only the extension's
own rows are ever selected; `secret://…` rows (the OS keychain's ciphertext) never are.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tasks.collect.discover import EXTENSIONS

AUTO_FLAGS = (
    "autoApprovalEnabled",
    "alwaysAllowReadOnly",
    "alwaysAllowReadOnlyOutsideWorkspace",
    "alwaysAllowWrite",
    "alwaysAllowWriteOutsideWorkspace",
    "alwaysAllowWriteProtected",
    "alwaysAllowExecute",
    "alwaysAllowMcp",
    "alwaysAllowModeSwitch",
    "alwaysAllowSubtasks",
    "alwaysAllowFollowupQuestions",
)
CAPS = ("allowedMaxRequests", "allowedMaxCost")
PRIVATE_KEYS = frozenset({"taskHistory"})  # prompts: the task files carry them


class StateError(Exception):
    """A state database that cannot be read (one line, naming the file)."""


def ro_uri(db: Path) -> str:
    return f"file:{quote(str(db.resolve()))}?mode=ro&immutable=1"


def read_roo_state(db: Path) -> list[tuple[str, dict[str, Any]]]:
    """(row key, global state) of each Roo Code extension row in `db`."""
    ids = sorted(EXTENSIONS)
    try:
        con = sqlite3.connect(ro_uri(db), uri=True)
    except sqlite3.Error as exc:
        raise StateError(f"{db}: cannot open read-only ({exc})") from None
    try:
        marks = ",".join("?" * len(ids))
        rows = con.execute(
            f"SELECT key, value FROM ItemTable WHERE lower(key) IN ({marks})", ids
        ).fetchall()
    except sqlite3.Error as exc:
        raise StateError(f"{db}: not a VS Code state database ({exc})") from None
    finally:
        con.close()
    out = []
    for key, value in rows:
        raw = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        try:
            data = json.loads(raw)
        except ValueError:
            raise StateError(f"{db}: row {key!r} is not JSON") from None
        if not isinstance(data, dict):
            raise StateError(f"{db}: row {key!r} is not a JSON object")
        out.append((key, data))
    return out


def combine(states: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], dict[str, str]]:
    """One global state from several profiles' rows: the most permissive of them.

    The first is the base (the default profile's); from the others an auto-approve flag
    that is on, an allowed command, and a missing or larger cap win; a command stays
    denied only when every profile denies it. Returns (state, field -> source label).
    """
    if not states:
        return {}, {}
    base_label, base = states[0]
    merged = {k: v for k, v in base.items() if k not in PRIVATE_KEYS}
    sources = {k: base_label for k in merged}
    for label, st in states[1:]:
        for flag in AUTO_FLAGS:
            if st.get(flag) is True and merged.get(flag) is not True:
                merged[flag], sources[flag] = True, label
        allowed = _strs(merged.get("allowedCommands"))
        extra = [c for c in _strs(st.get("allowedCommands")) if c not in allowed]
        if extra:
            merged["allowedCommands"] = allowed + extra
            sources["allowedCommands"] = f"{sources.get('allowedCommands', base_label)},{label}"
        if "deniedCommands" in merged or "deniedCommands" in st:
            theirs = set(_strs(st.get("deniedCommands")))
            merged["deniedCommands"] = [
                c for c in _strs(merged.get("deniedCommands")) if c in theirs
            ]
        for cap in CAPS:
            mine, other = merged.get(cap), st.get(cap)
            if mine is None or other is None:
                if other is None and mine is not None:
                    merged.pop(cap)
                    sources[cap] = label
            elif isinstance(other, int | float) and isinstance(mine, int | float) and other > mine:
                merged[cap], sources[cap] = other, label
    return merged, sources


def merge_commands(state: dict[str, Any], settings: list[tuple[str, dict[str, Any]]], prefix: str):
    """Add `<prefix>.allowedCommands`/`deniedCommands` of VS Code settings files (Roo merges them)."""
    used = []
    for label, data in settings:
        for name in ("allowedCommands", "deniedCommands"):
            extra = _strs(data.get(f"{prefix}.{name}"))
            if extra:
                have = _strs(state.get(name))
                state[name] = have + [c for c in extra if c not in have]
                used.append(f"{label}:{prefix}.{name}")
    return used


def provider_profiles(state: dict[str, Any]) -> dict[str, Any]:
    """The profile list Roo keeps in state (the profiles themselves are secrets: not read)."""
    configs = {}
    for meta in state.get("listApiConfigMeta") or []:
        if isinstance(meta, dict) and isinstance(meta.get("name"), str):
            configs[meta["name"]] = {k: v for k, v in meta.items() if k != "name"}
    return {
        "currentApiConfigName": state.get("currentApiConfigName"),
        "apiConfigs": configs,
        "modeApiConfigs": state.get("modeApiConfigs") or {},
    }


def _strs(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []
