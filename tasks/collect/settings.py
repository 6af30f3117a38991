"""The settings files a collect run writes under raw/roo/<user>/settings/.

- `mcp_settings.json`, `custom_modes.yaml`: the storage folder's files, byte for byte
  when they hold no credential, else with credentials redacted (tasks/collect/scrub.py);
  several editors' MCP files are merged (a server of the same name and another spec is
  kept as `<name>@<editor>`: every server any editor may run is a grant).
- `projects/<name>/.roo/mcp.json` and `projects/<name>/.roomodes` of each workspace named
  in the task history, when readable inside the home folder (or a --workspace-root).
- `roo-code-settings.json`: the snapshot in Roo Code's export shape, from state.vscdb.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.collect.discover import Discovery, inside, read_jsonc
from tasks.collect.files import regular_file
from tasks.collect.scrub import Scrubber
from tasks.collect.state import (
    StateError,
    combine,
    merge_commands,
    provider_profiles,
    read_roo_state,
)
from tasks.common.safepath import key_problem

SNAPSHOT_VERSION = 1


@dataclass
class Generated:
    key: str  # below raw/roo/<user>/
    data: bytes
    sources: list[str] = field(default_factory=list)


def _read(path: Path, home: Path, notes: list[str], roots: list[Path]) -> bytes | None:
    if not any(inside(r, path) for r in [home, *roots]):
        notes.append(f"{path}: outside the home folder, not read")
        return None
    if path.is_symlink() or regular_file(path) is None:
        if path.is_symlink():
            notes.append(f"{path}: symlink, not followed")
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        notes.append(f"{path}: unreadable ({type(exc).__name__})")
        return None


def _mcp_bytes(raw: bytes, scrub: Scrubber, src: Path, notes: list[str]) -> tuple[Any, bytes]:
    """(parsed or None, bytes to ship): original bytes when scrubbing changed nothing."""
    try:
        data = json.loads(raw)
    except ValueError:
        notes.append(f"{src}: not valid JSON, sent with the redaction rules applied")
        return None, scrub.engine.redact_text(raw)
    clean = scrub.mcp(data)
    return clean, raw if clean == data else json.dumps(clean, indent=2).encode()


def global_files(disc: Discovery, scrub: Scrubber, notes: list[str]) -> list[Generated]:
    out: list[Generated] = []
    mcps: list[tuple[str, Path, Any, bytes]] = []
    modes: list[tuple[Path, bytes]] = []
    for inst in disc.installs:
        for st in inst.storages:
            for name in ("mcp_settings.json", "custom_modes.yaml"):
                path = st.path / "settings" / name
                if not path.exists() and not path.is_symlink():
                    continue
                raw = _read(path, disc.home, notes, [])
                if raw is None:
                    continue
                if name == "custom_modes.yaml":
                    modes.append((path, scrub.engine.redact_text(raw)))
                else:
                    parsed, shipped = _mcp_bytes(raw, scrub, path, notes)
                    mcps.append((inst.editor, path, parsed, shipped))
    if mcps:
        out.append(_merge_mcp(mcps, notes))
    if modes:
        out.append(Generated("settings/custom_modes.yaml", modes[0][1], [str(modes[0][0])]))
        for path, _ in modes[1:]:
            notes.append(f"{path}: another custom_modes.yaml; the first found was sent")
    return out


def _merge_mcp(mcps: list[tuple[str, Path, Any, bytes]], notes: list[str]) -> Generated:
    key = "settings/mcp_settings.json"
    if len({m[3] for m in mcps}) == 1 or any(m[2] is None for m in mcps):
        if len(mcps) > 1:
            notes.append(f"{mcps[0][1]}: sent; other editors' MCP files are identical or invalid")
        return Generated(key, mcps[0][3], [str(m[1]) for m in mcps])
    servers: dict[str, Any] = {}
    for editor, _, parsed, _ in mcps:
        for name, spec in (parsed.get("mcpServers") or {}).items():
            if name in servers and servers[name] != spec:
                name = f"{name}@{editor}"
            servers.setdefault(name, spec)
    notes.append(f"MCP settings of {len(mcps)} editors merged into {key}")
    doc = json.dumps({"mcpServers": servers}, indent=2).encode()
    return Generated(key, doc, [str(m[1]) for m in mcps])


def inputs_fingerprint(disc: Discovery, ws_paths: list[str], key: bytes) -> str:
    """Digest of everything the settings documents are made from (small files' bytes, the
    extension's state rows, the key's hash): equal to the last run's, the documents are
    equal too and need not be rebuilt. Contents, not stat: a SQLite write need not move the
    database file's mtime."""
    h = hashlib.sha256(hashlib.sha256(key).digest())
    h.update(f"snapshot v{SNAPSHOT_VERSION}\n".encode())
    paths: list[Path] = []
    for inst in disc.installs:
        for st in inst.storages:
            paths += [st.path / "settings" / n for n in ("mcp_settings.json", "custom_modes.yaml")]
        paths += inst.settings_files
        for _, db in inst.state_dbs:
            h.update(f"{db}\n".encode())
            try:
                h.update(json.dumps(read_roo_state(db), sort_keys=True).encode())
            except StateError as exc:
                h.update(str(exc).encode())
    for ws in ws_paths:
        p = Path(ws)
        paths += [p / ".roo" / "mcp.json", p / ".roomodes", p / ".vscode" / "settings.json"]
    for p in paths:
        h.update(f"{p}\n".encode())
        if not p.is_symlink() and regular_file(p) is not None:
            try:
                h.update(hashlib.sha256(p.read_bytes()).digest())
            except OSError:
                h.update(b"-")
    return h.hexdigest()


def workspaces(entries: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for e in entries:
        ws = e.get("workspace") if isinstance(e, dict) else None
        if isinstance(ws, str) and ws.strip():
            seen.setdefault(ws.strip(), None)
    return list(seen)


def project_files(
    paths: list[str], home: Path, scrub: Scrubber, notes: list[str], roots: list[Path]
) -> tuple[list[Generated], list[tuple[str, dict[str, Any]]]]:
    """Each workspace's .roo/mcp.json and .roomodes; also its .vscode/settings.json data."""
    out: list[Generated] = []
    vs_settings: list[tuple[str, dict[str, Any]]] = []
    names: set[str] = set()
    for ws in paths:
        p = Path(ws)
        if not p.is_absolute() or not p.is_dir():
            continue
        if not any(inside(r, p) for r in [home, *roots]):
            notes.append(f"{ws}: workspace outside the home folder, not read")
            continue
        name = p.name or "root"
        if key_problem(name) or name in names:
            name = f"{name if not key_problem(name) else 'project'}-{hashlib.sha256(ws.encode()).hexdigest()[:8]}"
        names.add(name)
        raw = (
            _read(p / ".roo" / "mcp.json", home, notes, roots)
            if (p / ".roo" / "mcp.json").exists()
            else None
        )
        if raw is not None:
            _, shipped = _mcp_bytes(raw, scrub, p / ".roo" / "mcp.json", notes)
            out.append(Generated(f"settings/projects/{name}/.roo/mcp.json", shipped, [ws]))
        if (p / ".roomodes").exists():
            raw = _read(p / ".roomodes", home, notes, roots)
            if raw is not None:
                modes = scrub.engine.redact_text(raw)
                out.append(Generated(f"settings/projects/{name}/.roomodes", modes, [ws]))
        vs = p / ".vscode" / "settings.json"
        if vs.is_file() and _read(vs, home, notes, roots) is not None:
            vs_settings.append((f"workspace:{ws}", read_jsonc(vs, notes)))
    return out, vs_settings


def snapshot(
    disc: Discovery,
    scrub: Scrubber,
    notes: list[str],
    workspace_settings: list[tuple[str, dict[str, Any]]],
) -> Generated | None:
    """roo-code-settings.json: {providerProfiles, globalSettings, _collector}, or None."""
    states: list[tuple[str, dict[str, Any]]] = []
    sources: list[dict[str, str]] = []
    settings: list[tuple[str, dict[str, Any]]] = []
    prefix = "roo-cline"
    for inst in disc.installs:
        for profile, db in inst.state_dbs:
            try:
                rows = read_roo_state(db)
            except StateError as exc:
                notes.append(str(exc))
                continue
            for key, data in rows:
                label = f"{inst.editor}:{profile}:{key}"
                states.append((label, data))
                rel = os.path.relpath(db, disc.home)
                sources.append(
                    {
                        "editor": inst.editor,
                        "layout": inst.layout,
                        "profile": profile,
                        "db": rel,
                        "key": key,
                    }
                )
        for s in inst.settings_files:
            settings.append(
                (f"{inst.editor}:{os.path.relpath(s, disc.home)}", read_jsonc(s, notes))
            )
        prefix = next((st.prefix for st in inst.storages), prefix)
    if not states:
        return None
    merged, field_sources = combine(states)
    used = merge_commands(merged, settings + workspace_settings, prefix)
    for name in ("allowedCommands", "deniedCommands"):
        if any(u.endswith(f".{name}") for u in used):
            field_sources[name] = ",".join(
                [field_sources.get(name, "state")] + [u for u in used if u.endswith(name)]
            )
    clean = scrub.walk(merged)
    doc = {
        "providerProfiles": scrub.walk(provider_profiles(merged)),
        "globalSettings": clean,
        "_collector": {
            "version": SNAPSHOT_VERSION,
            "sources": sources,
            "field_sources": {k: field_sources[k] for k in sorted(field_sources)},
            "combined": "most permissive of the profiles' rows" if len(states) > 1 else "one row",
            "never_read": "secret:// rows (OS keychain)",
        },
    }
    data = json.dumps(doc, indent=2, sort_keys=True).encode()
    return Generated("settings/roo-code-settings.json", data, [s["db"] for s in sources])
