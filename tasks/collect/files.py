"""Which files of a Roo Code storage folder are shipped, and where they land.

Task folders go byte for byte to `tasks/<taskId>/…` (ui_messages.json,
api_conversation_history.json, history_item.json, task_metadata.json and
command-output/*.txt); the home folder is hostile, so a symlink is never followed, a
non-regular file is never read, and an odd name (tasks/common/safepath) is refused with
one line. Checkpoints (shadow git repositories) and caches are not shipped.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from tasks.common.safepath import key_problem

TASK_FILES = frozenset(
    {
        "ui_messages.json",
        "api_conversation_history.json",
        "history_item.json",
        "task_metadata.json",
    }
)
TASK_SUBDIRS = frozenset({"command-output"})
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")  # always a clean key segment
# A task is still being written when one of these is not valid JSON (or is fresh).
JSON_TASK_FILES = ("ui_messages.json", "history_item.json")


@dataclass(frozen=True)
class Item:
    """One local file and its key below raw/roo/<user>/ (src a str: 40,000 Paths cost ~1 s)."""

    src: str
    key: str
    size: int
    mtime_ns: int
    task_id: str | None = None

    @property
    def path(self) -> Path:
        return Path(self.src)

    @property
    def name(self) -> str:
        return os.path.basename(self.src)


def _regular(entry: os.DirEntry) -> os.stat_result | None:
    """lstat of a plain file; None for symlinks, folders, devices, fifos."""
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def _scan(path: Path | str) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            return list(it)
    except OSError:
        return []


def task_items(storage: Path, notes: list[str]) -> tuple[list[Item], Path | None]:
    """Every shippable file of every task folder, and tasks/_index.json if present."""
    tasks = storage / "tasks"
    if tasks.is_symlink() or not tasks.is_dir():
        if tasks.is_symlink():
            notes.append(f"{tasks}: symlink, not followed")
        return [], None
    items: list[Item] = []
    index: Path | None = None
    for entry in _scan(tasks):
        if entry.name == "_index.json":
            if _regular(entry):
                index = Path(entry.path)  # one file
            else:
                notes.append(f"{entry.path}: not a regular file, not read")
            continue
        if entry.is_symlink():
            notes.append(f"{entry.path}: symlink, not followed")
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        # ids are UUIDs or digits: the fast path; anything else gets the full check
        problem = None if _PLAIN_ID.fullmatch(entry.name) else key_problem(entry.name)
        if problem:
            notes.append(f"{tasks / repr(entry.name)[1:-1]}: task folder refused ({problem})")
            continue
        items += _task_folder(entry.path, entry.name, notes)
    return items, index


def _task_folder(folder: str, task_id: str, notes: list[str]) -> list[Item]:
    out: list[Item] = []
    for entry in _scan(folder):
        if entry.is_symlink():
            notes.append(f"{entry.path}: symlink, not followed")
            continue
        if entry.name in TASK_SUBDIRS and entry.is_dir(follow_symlinks=False):
            for sub in _scan(entry.path):
                item = _item(sub, f"tasks/{task_id}/{entry.name}/{sub.name}", task_id, notes)
                if item:
                    out.append(item)
        elif entry.name in TASK_FILES:  # a fixed name under a checked task id: no check needed
            item = _item(entry, f"tasks/{task_id}/{entry.name}", task_id, notes, checked=True)
            if item:
                out.append(item)
    return out


def _item(
    entry: os.DirEntry, key: str, task_id: str | None, notes: list[str], checked: bool = False
) -> Item | None:
    if entry.is_symlink():
        notes.append(f"{entry.path}: symlink, not followed")
        return None
    problem = None if checked else key_problem(key)
    if problem:
        notes.append(f"{repr(entry.path)[1:-1]}: file name refused ({problem})")
        return None
    st = _regular(entry)
    if st is None:
        return None
    return Item(entry.path, key, st.st_size, st.st_mtime_ns, task_id)


def regular_file(path: Path) -> os.stat_result | None:
    """lstat of `path` when it is a regular file reached through no symlink."""
    try:
        st = path.lstat()
    except OSError:
        return None
    return st if stat.S_ISREG(st.st_mode) else None


def no_symlink_on_the_way(root: Path, path: Path) -> bool:
    """True when no component of `path` below `root` is a symlink."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return False
    cur = root
    for part in rel.parts:
        cur = cur / part
        if cur.is_symlink():
            return False
    return True
