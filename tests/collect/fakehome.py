"""Fake home folders shaped like each editor's and OS's real layout, with Roo Code data.

Task folders come from the project's fleet generator (Roo Code's real file shapes); the
editor state is a real SQLite `state.vscdb` with VS Code's own table
(`ItemTable(key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)`, microsoft/vscode
src/vs/base/parts/storage/node/storage.ts), Roo Code's global-state row keyed by the
published id, `secret://` rows (which must never be read) and planted credentials.

Shapes checked against public source (search index, 2026-12-04):
- secret rows: `secret://${JSON.stringify({ extensionId, key })}` with the value
  `{"type":"Buffer","data":[…]}` (VS Code's extension secret storage, as read by several
  tools that query state.vscdb directly);
- Roo Code's export `{providerProfiles, globalSettings}` (RooCodeInc/Roo-Code
  src/core/config/importExport.ts, commit 1ad5afb9ded36b5261451a9710179cbd9f2830a1);
  `listApiConfigMeta` in global state from `providerSettingsManager.listConfig()`
  (ClineProvider/webviewMessageHandler); `roo-cline.customStoragePath` read by
  `getStorageBasePath` (src/utils/storage.ts).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

# Planted values: none of them may ever reach the bucket.
KEYCHAIN_SECRET = "sk-ant-api03-KEYCHAINONLY0123456789abcdefghijklmnopqrstuv"
STATE_SECRET = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
MCP_ENV_SECRET = "ghp_PLANTEDmcpENV0123456789abcdefghijABCD"
MCP_URL_SECRET = "tok_PLANTEDurl0123456789abcdefXYZ"
MCP_HEADER_SECRET = "Bearer PLANTEDheader0123456789abcdefABCDEF"
SECRETS = (KEYCHAIN_SECRET, STATE_SECRET, MCP_ENV_SECRET, MCP_URL_SECRET, MCP_HEADER_SECRET)

USER_DATA = {  # (editor, layout) -> user-data folder relative to the home
    ("vscode", "linux"): ".config/Code",
    ("vscode-insiders", "linux"): ".config/Code - Insiders",
    ("vscodium", "linux"): ".config/VSCodium",
    ("cursor", "linux"): ".config/Cursor",
    ("windsurf", "linux"): ".config/Windsurf",
    ("vscode", "macos"): "Library/Application Support/Code",
    ("cursor", "macos"): "Library/Application Support/Cursor",
    ("windsurf", "macos"): "Library/Application Support/Windsurf",
    ("vscode", "windows"): "AppData/Roaming/Code",
    ("vscodium", "windows"): "AppData/Roaming/VSCodium",
    ("cursor", "windows"): "AppData/Roaming/Cursor",
    ("code-server", "linux"): ".local/share/code-server",
    ("code-server", "windows"): "AppData/Local/code-server/Data",
    ("vscode-server", "remote"): ".vscode-server/data",
}
SETTINGS_JSONC = """// VS Code user settings: comments and trailing commas are allowed
{
  "editor.fontSize": 13, /* block comment */
  "roo-cline.allowedCommands": ["npm test", "git status",],
  "roo-cline.deniedCommands": [],
  %s
}
"""


def make_state_db(path: Path, global_state: dict, ext_key: str = "RooVeterinaryInc.roo-cline"):
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE IF NOT EXISTS ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB)"
    )
    rows = [
        ("workbench.panel.height", "300"),
        (ext_key, json.dumps(global_state)),
        (
            'secret://{"extensionId":"rooveterinaryinc.roo-cline","key":"roo_cline_config_api_config"}',
            json.dumps({"type": "Buffer", "data": list(KEYCHAIN_SECRET.encode())}),
        ),
        (
            'secret://{"extensionId":"rooveterinaryinc.roo-cline","key":"openRouterApiKey"}',
            KEYCHAIN_SECRET.encode(),
        ),
    ]
    con.executemany("INSERT INTO ItemTable VALUES (?, ?)", rows)
    con.commit()
    con.close()


def global_state_from_export(export: dict, god_mode: bool = False) -> dict:
    """Roo Code's global state as the editor keeps it, from a settings export."""
    gs = dict(export["globalSettings"])
    prof = export["providerProfiles"]
    gs["currentApiConfigName"] = prof.get("currentApiConfigName")
    gs["listApiConfigMeta"] = [
        {"name": n, "id": c.get("id"), "apiProvider": c.get("apiProvider")}
        for n, c in prof.get("apiConfigs", {}).items()
    ]
    gs["openRouterApiKey"] = STATE_SECRET  # an old build kept a key in state
    gs["taskHistory"] = [{"id": "x", "task": "hello"}]
    if god_mode:
        gs.update(autoApprovalEnabled=True, alwaysAllowExecute=True, allowedCommands=["*"])
        gs["deniedCommands"] = []
    return gs


def build_home(
    home: Path,
    editor: str,
    layout: str,
    user_root: Path,
    *,
    ext_folder: str = "rooveterinaryinc.roo-cline",
    custom_storage: str | None = None,
    god_mode: bool = False,
    workspace: Path | None = None,
) -> Path:
    """Lay out one user's generated Roo Code data as `editor` keeps it; returns the storage."""
    ud = home / USER_DATA[(editor, layout)]
    user = ud / "User"
    storage = user / "globalStorage" / ext_folder
    if custom_storage:
        storage = home / custom_storage
    storage.mkdir(parents=True, exist_ok=True)
    shutil.copytree(user_root / "tasks", storage / "tasks", dirs_exist_ok=True)
    (user / "globalStorage" / ext_folder).mkdir(parents=True, exist_ok=True)
    settings = storage / "settings"
    settings.mkdir(exist_ok=True)
    mcp = json.loads((user_root / "settings" / "mcp_settings.json").read_bytes())
    mcp["mcpServers"]["planted"] = {
        "command": "node",
        "args": ["server.js"],
        "env": {"GITHUB_TOKEN": MCP_ENV_SECRET, "LOG_LEVEL": "debug"},
        "alwaysAllow": [],
    }
    mcp["mcpServers"]["remote"] = {
        "type": "streamable-http",
        "url": f"https://mcp.example.com/v1?api_key={MCP_URL_SECRET}&team=x",
        "headers": {"Authorization": MCP_HEADER_SECRET},
    }
    (settings / "mcp_settings.json").write_text(json.dumps(mcp, indent=2))
    modes = user_root / "settings" / "custom_modes.yaml"
    if modes.exists():
        shutil.copy(modes, settings / "custom_modes.yaml")
    extra = ""
    if custom_storage:
        extra = f'"roo-cline.customStoragePath": "~/{custom_storage}",'
    user.mkdir(parents=True, exist_ok=True)
    (user / "settings.json").write_text(SETTINGS_JSONC % extra)
    if editor != "code-server" and layout != "remote":
        export = json.loads((user_root / "settings" / "roo-code-settings.json").read_bytes())
        make_state_db(
            user / "globalStorage" / "state.vscdb", global_state_from_export(export, god_mode)
        )
    if workspace is not None:
        (workspace / ".roo").mkdir(parents=True, exist_ok=True)
        (workspace / ".roo" / "mcp.json").write_text(
            json.dumps(
                {
                    "mcpServers": {
                        "db": {"command": "pg", "env": {"PGPASSWORD": "hunter2-planted-pw"}}
                    }
                }
            )
        )
        (workspace / ".roomodes").write_text("customModes: []\n")
    return storage
