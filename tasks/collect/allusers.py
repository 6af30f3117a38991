"""Shared-host mode: one collect per Unix user's home on a Coder / dev-container /
code-server host, each mapped to a roster user through a CSV (`unix_user,user`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from tasks.common.safepath import key_problem


class MappingError(Exception):
    """A user-mapping CSV that cannot be used (one line)."""


def read_mapping(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: unreadable ({type(exc).__name__})") from None
    reader = csv.DictReader(io.StringIO(text))
    if not {"unix_user", "user"} <= set(reader.fieldnames or []):
        raise MappingError(f"{path}: needs the columns unix_user,user")
    out: dict[str, str] = {}
    for lineno, row in enumerate(reader, start=2):
        unix, user = (row.get("unix_user") or "").strip(), (row.get("user") or "").strip()
        if not unix or not user:
            continue
        problem = key_problem(user)
        if problem or "/" in user:
            raise MappingError(f"{path}:{lineno}: user {user!r} refused ({problem or 'slash'})")
        out[unix] = user
    return out


def homes(root: Path, mapping: dict[str, str], notes: list[str]) -> list[tuple[str, Path]]:
    """(roster user, home) for each mapped home folder under root; symlinks never followed."""
    out = []
    for home in sorted(root.iterdir()) if root.is_dir() else []:
        if home.is_symlink() or not home.is_dir():
            continue
        user = mapping.get(home.name)
        if user is None:
            notes.append(f"{home}: Unix user {home.name!r} not in the mapping, not collected")
            continue
        out.append((user, home))
    return out
