"""Where Roo Code data lives: a local folder or an s3:// prefix, and which layout it has.

Layouts accepted (all may be mixed under one root):
- the data bucket: `raw/roo/<user>/tasks/<taskId>/…` and `raw/events/YYYY/MM/DD/*.jsonl`
  (the root may be the bucket root, `raw/`, or `raw/roo/<user>/`);
- a bare Roo Code storage folder: `tasks/<taskId>/…` (user = the given default);
- a single task folder holding `ui_messages.json` (task id = the folder name).

Reads are bounded: a whole file is read only below `max_bytes`, and JSON Lines are split
in fixed chunks so that one huge line never sits in memory whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from tasks.common.errors import InputError
from tasks.common.storage import Store

EVENTS_DAY = re.compile(r"(\d{4})/(\d{2})/(\d{2})/[^/]+\.jsonl$")
# Cline task ids: Date.now() strings (v3), `<epoch-ms>_<5 chars>` (v4); Roo's are UUIDs
CLINE_ID = re.compile(r"\d{12,14}(?:_[A-Za-z0-9]{5})?")
CLINE_PATHS = ("saoudrizwan.claude-dev", "/.cline/")
CHUNK = 1 << 20


@dataclass(frozen=True)
class TaskFolder:
    user: str
    task_id: str
    prefix: str  # folder path relative to the store root, ending with "/" (or "")
    files: dict[str, int]  # file name -> size in bytes


@dataclass(frozen=True)
class Unit:
    kind: str  # "events" | "tasks" | "task"
    prefix: str
    user: str | None = None


def iter_lines(stream: BinaryIO, max_line: int) -> Iterator[tuple[int, bytes | None, int]]:
    """(line number, bytes or None when longer than max_line, length) for each line.

    Reads fixed chunks; an over-long line is skipped to its newline without keeping it.
    """
    lineno = 0
    buf = b""
    skipping = False
    skipped = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                rest = chunk[start:]
                if skipping:
                    skipped += len(rest)
                elif len(buf) + len(rest) > max_line:
                    skipping, skipped, buf = True, len(buf) + len(rest), b""
                else:
                    buf += rest
                break
            piece = chunk[start:nl]
            lineno += 1
            if skipping:
                yield lineno, None, skipped + len(piece)
                skipping, skipped = False, 0
            elif len(buf) + len(piece) > max_line:
                yield lineno, None, len(buf) + len(piece)
                buf = b""
            else:
                yield lineno, buf + piece, len(buf) + len(piece)
                buf = b""
            start = nl + 1
    if skipping:
        yield lineno + 1, None, skipped
    elif buf:
        yield lineno + 1, buf, len(buf)


def detect_units(store: Store, default_user: str, users: set[str] | None) -> list[Unit]:
    """The events folders and task folders under the root, events first."""
    units: list[Unit] = []
    _detect(store, "", default_user, users, units, depth=0)
    if not units:
        raise InputError(f"{store.label}: no Roo Code data found (no tasks/, raw/ or events/)")
    units.sort(key=lambda u: 0 if u.kind == "events" else 1)
    return units


def _detect(
    store: Store, rel: str, user: str, users: set[str] | None, out: list[Unit], depth: int
) -> None:
    dirs, files = store.children(rel)
    if "ui_messages.json" in files or "history_item.json" in files:
        out.append(Unit("task", rel, user if rel else _user_from_path(store, user)))
        return
    if not rel and store.name == "roo":
        for u in dirs:  # raw/roo/ itself: its folders are users
            if users is None or u in users:
                out.append(Unit("tasks", f"{u}/tasks/", u))
        return
    if depth > 3:
        return
    if "raw" in dirs:
        _detect(store, rel + "raw/", user, users, out, depth + 1)
    if "events" in dirs:
        out.append(Unit("events", rel + "events/"))
    if "roo" in dirs:
        for u in store.children(rel + "roo/")[0]:
            if users is None or u in users:
                out.append(Unit("tasks", f"{rel}roo/{u}/tasks/", u))
    for folder in ("tasks", "sessions"):  # sessions/: Cline v4 under ~/.cline/data
        if folder in dirs:
            owner = user if rel else _user_from_path(store, user)
            if users is None or owner in users:
                out.append(Unit("tasks", rel + folder + "/", owner))


def _user_from_path(store: Store, default: str) -> str:
    """raw/roo/<user>/ given as the root: the user is the folder name."""
    parts = store.path.rstrip("/").split("/")
    if len(parts) >= 2 and parts[-2] == "roo":
        return parts[-1]
    if len(parts) >= 4 and parts[-2] == "tasks" and parts[-4] == "roo":
        return parts[-3]  # a single task folder inside raw/roo/<user>/tasks/
    return default


def agent_of(task_id: str, uri: str) -> str:
    """`cline` for Cline's storage (its id shapes, or its folders), else `roo`."""
    if CLINE_ID.fullmatch(task_id) or any(p in uri.replace("\\", "/") for p in CLINE_PATHS):
        return "cline"
    return "roo"


def task_id_of(unit: Unit, store: Store) -> str:
    return unit.prefix.rstrip("/").rsplit("/", 1)[-1] if unit.prefix else store.name


def iter_task_folders(store: Store, unit: Unit) -> Iterator[TaskFolder]:
    """Task folders under a `tasks/` unit, one at a time (the listing is streamed)."""
    assert unit.user is not None
    if unit.kind == "task":
        _, files = store.children(unit.prefix)
        yield TaskFolder(unit.user, task_id_of(unit, store), unit.prefix, files)
        return
    current: str | None = None
    files: dict[str, int] = {}
    cut = len(unit.prefix)
    for key, size in store.list(unit.prefix):
        rest = key[cut:]
        task_id, sep, name = rest.partition("/")
        if not sep or "/" in name:
            continue  # _index.json, or deeper files (command-output/…)
        if task_id != current:
            if current is not None:
                yield TaskFolder(unit.user, current, unit.prefix + current + "/", files)
            current, files = task_id, {}
        files[name] = size
    if current is not None:
        yield TaskFolder(unit.user, current, unit.prefix + current + "/", files)
