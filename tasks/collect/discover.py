"""Where Roo Code keeps its data on a machine, for every editor and OS layout.

Facts (../shared/specs/roo-code-data.md, checked against the source): task files live in
the extension's global-storage folder `<user-data>/User/globalStorage/<ext id, lowercase>/`
or under `roo-cline.customStoragePath` (Roo Code's getStorageBasePath); global state is the
row keyed by the published id in `<user-data>/User/globalStorage/state.vscdb` and in
`User/profiles/<id>/globalStorage/state.vscdb`. The home folder is hostile: a path that
resolves outside it (a symlink, a custom storage path) is refused with one line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import json5

# Published extension ids; folder names are matched case-insensitively.
EXTENSIONS = {
    "rooveterinaryinc.roo-cline": "roo-cline",
    "rooveterinaryinc.roo-code-nightly": "roo-code-nightly",
}
PRODUCTS = {  # product folder under the OS's application-data folder
    "vscode": "Code",
    "vscode-insiders": "Code - Insiders",
    "vscodium": "VSCodium",
    "cursor": "Cursor",
    "windsurf": "Windsurf",
}
REMOTE_SERVERS = {  # <home>/<folder>/data on a Remote-SSH / dev-container host
    "vscode-server": ".vscode-server",
    "vscode-server-insiders": ".vscode-server-insiders",
    "vscodium-server": ".vscodium-server",
    "cursor-server": ".cursor-server",
    "windsurf-server": ".windsurf-server",
}
STATE_ELSEWHERE = {
    "remote": "Remote SSH / dev container: global state and secrets are on the client "
    "machine; only task files are collected here (run collect on the client too)",
    "code-server": "code-server keeps global state in the browser (IndexedDB): "
    "only task files are collected",
}


@dataclass
class Storage:
    """One Roo Code storage folder (tasks/, settings/)."""

    path: Path
    ext_id: str  # the folder name as found on disk
    prefix: str  # settings prefix: roo-cline or roo-code-nightly
    custom: bool = False


@dataclass
class Install:
    """One editor's user-data folder holding Roo Code data."""

    editor: str
    layout: str  # linux | macos | windows | remote
    user_data: Path
    storages: list[Storage] = field(default_factory=list)
    state_dbs: list[tuple[str, Path]] = field(default_factory=list)  # (profile, db)
    settings_files: list[Path] = field(default_factory=list)
    state_note: str | None = None  # where global state is when not here


@dataclass
class Discovery:
    home: Path
    installs: list[Install] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one line each: refused paths, bad files


def inside(home: Path, path: Path) -> bool:
    """True when `path` (symlinks resolved) is `home` or below it."""
    try:
        real, base = os.path.realpath(path), os.path.realpath(home)
    except OSError:
        return False
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def candidates(home: Path, environ: dict[str, str] | None = None) -> list[tuple[str, str, Path]]:
    """(editor, layout, user-data folder) for every layout under `home`."""
    env = environ if environ is not None else {}
    xdg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    roots = {
        "linux": xdg,
        "macos": home / "Library" / "Application Support",
        "windows": home / "AppData" / "Roaming",
    }
    out = [(ed, lay, root / prod) for lay, root in roots.items() for ed, prod in PRODUCTS.items()]
    out.append(("code-server", "linux", home / ".local" / "share" / "code-server"))
    out.append(("code-server", "windows", home / "AppData" / "Local" / "code-server" / "Data"))
    out += [(ed, "remote", home / folder / "data") for ed, folder in REMOTE_SERVERS.items()]
    if env.get("VSCODE_PORTABLE"):
        out.append(("vscode", "portable", Path(env["VSCODE_PORTABLE"]) / "user-data"))
    return out


def read_jsonc(path: Path, notes: list[str]) -> dict:
    """settings.json is JSON with comments and trailing commas; a bad file is one note."""
    try:
        data = json5.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        notes.append(f"{path}: unreadable ({type(exc).__name__})")
        return {}
    except ValueError as exc:
        notes.append(f"{path}: not valid JSON with comments ({str(exc).splitlines()[0][:120]})")
        return {}
    if not isinstance(data, dict):
        notes.append(f"{path}: top level is not an object")
        return {}
    return data


def _global_storage_exts(gs: Path) -> list[tuple[str, str, Path]]:
    try:
        entries = list(os.scandir(gs))
    except OSError:
        return []
    out = []
    for e in sorted(entries, key=lambda e: e.name):
        prefix = EXTENSIONS.get(e.name.lower())
        if prefix:
            out.append((e.name, prefix, Path(e.path)))
    return out


def _custom_path(value: object, home: Path) -> Path | None:
    if not isinstance(value, str) or not value.strip():
        return None
    v = value.strip()
    p = home / v[1:].lstrip("/\\") if v.startswith("~") else Path(v)
    return p if p.is_absolute() else None


def discover(
    home: str | Path,
    environ: dict[str, str] | None = None,
    extra_user_data: list[Path] | None = None,
) -> Discovery:
    """Every editor install under `home` that holds Roo Code data or state."""
    home = Path(home)
    found = Discovery(home=home)
    cands = candidates(home, environ)
    cands += [("custom", "custom", Path(p)) for p in extra_user_data or []]
    seen: set[str] = set()
    for editor, layout, ud in cands:
        if not ud.is_dir():
            continue
        if not inside(home, ud):
            found.notes.append(f"{ud}: resolves outside the home folder, not read")
            continue
        real = os.path.realpath(ud)
        if real in seen:
            continue
        seen.add(real)
        inst = _install(editor, layout, ud, home, found.notes)
        if inst.storages or inst.state_dbs:
            found.installs.append(inst)
    return found


def _install(editor: str, layout: str, ud: Path, home: Path, notes: list[str]) -> Install:
    inst = Install(editor=editor, layout=layout, user_data=ud)
    if layout == "remote":
        inst.state_note = STATE_ELSEWHERE["remote"]
    elif editor == "code-server":
        inst.state_note = STATE_ELSEWHERE["code-server"]
    user = ud / "User"
    settings = [user / "settings.json"]
    profiles = user / "profiles"
    profile_dirs = sorted(p for p in profiles.iterdir() if p.is_dir()) if profiles.is_dir() else []
    settings += [p / "settings.json" for p in profile_dirs]
    inst.settings_files = [s for s in settings if s.is_file() and inside(home, s)]
    dbs = [("default", user / "globalStorage" / "state.vscdb")]
    dbs += [(p.name, p / "globalStorage" / "state.vscdb") for p in profile_dirs]
    for profile, db in dbs:
        if db.is_file():
            if inside(home, db):
                inst.state_dbs.append((profile, db))
            else:
                notes.append(f"{db}: resolves outside the home folder, not read")
    # The extension's storage: global storage, moved by customStoragePath when set.
    user_settings = read_jsonc(user / "settings.json", notes) if settings[0].is_file() else {}
    for name, prefix, path in _global_storage_exts(user / "globalStorage"):
        custom = _custom_path(user_settings.get(f"{prefix}.customStoragePath"), home)
        if custom is not None:
            if not custom.is_dir():
                notes.append(f"{prefix}.customStoragePath {custom}: no such folder")
            elif not inside(home, custom):
                notes.append(
                    f"{prefix}.customStoragePath {custom}: outside the home folder, not read"
                )
            else:
                inst.storages.append(Storage(custom, name, prefix, custom=True))
        if not inside(home, path):
            notes.append(f"{path}: resolves outside the home folder, not read")
            continue
        inst.storages.append(Storage(path, name, prefix))
    return inst
