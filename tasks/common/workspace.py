"""Workspace escape: one rule for every job that judges where an agent wrote.

Decided from the data Roo Code records: a tool message's path is
`getReadablePath(cwd, relPath)` (src/utils/path.ts), which shows a path *relative* to the
workspace when the target is inside it and the *absolute* path when it is outside. So an
absolute path is itself evidence of a write outside the workspace; when the workspace is
known it is compared (a cwd of ~/Desktop shows every path absolute), and when it is not
the write cannot be vouched for and escapes. Only a missing path cannot be told.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable

_DRIVE = re.compile(r"^[A-Za-z]:/")


def write_escapes(path: str | None, workspace: str | Iterable[str] | None) -> bool | None:
    """True when the write target is outside the workspace (absolute elsewhere, `~`, or
    `../` climbing out), False when inside, None when there is no path to judge.

    `workspace` may be several (a user's known workspaces, when the event does not say):
    an absolute path is then inside when it is under any of them.
    """
    if not isinstance(path, str) or not path:
        return None
    p = path.replace("\\", "/")
    if p.startswith("~"):
        return True
    if p.startswith("/") or _DRIVE.match(p):
        spaces = [workspace] if isinstance(workspace, str) else list(workspace or [])
        spaces = [w for w in spaces if isinstance(w, str) and w]
        return not any(_under(p, w) for w in spaces)  # none known: cannot be vouched for
    norm = posixpath.normpath(p)
    return norm == ".." or norm.startswith("../")


def _under(path: str, workspace: str) -> bool:
    ws = posixpath.normpath(workspace.replace("\\", "/")).rstrip("/")
    norm = posixpath.normpath(path)
    if _DRIVE.match(norm) or _DRIVE.match(ws):  # Windows paths compare case-insensitively
        norm, ws = norm.lower(), ws.lower()
    return norm == ws or norm.startswith(ws + "/")
