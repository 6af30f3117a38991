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

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from tasks.common.errors import InputError
from tasks.common.s3 import S3Uri, is_s3

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


class Store:
    """Read-only view of a root (local folder or s3 prefix) with relative keys."""

    def __init__(self, root: str, s3_client: Any = None) -> None:
        self.s3 = is_s3(root)
        if self.s3:
            if s3_client is None:
                raise InputError(f"{root}: an s3 client is needed to read s3:// sources")
            uri = S3Uri.parse(root)
            self.bucket = uri.bucket
            self.base = uri.key if not uri.key or uri.key.endswith("/") else uri.key + "/"
            self.client = s3_client
        else:
            if not os.path.exists(root):
                raise InputError(f"{root}: no such file or directory")
            self.base = os.path.abspath(root)
        self.root = root

    def uri(self, rel: str) -> str:
        if self.s3:
            return f"s3://{self.bucket}/{self.base}{rel}"
        return os.path.join(self.base, rel) if rel else self.base

    def children(self, rel: str) -> tuple[list[str], dict[str, int]]:
        """Immediate sub-folders (names) and files (name -> size) of `rel`, sorted."""
        if self.s3:
            dirs: list[str] = []
            files: dict[str, int] = {}
            prefix = self.base + rel
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for cp in page.get("CommonPrefixes", []):
                    dirs.append(cp["Prefix"][len(prefix) :].rstrip("/"))
                for obj in page.get("Contents", []):
                    files[obj["Key"][len(prefix) :]] = obj["Size"]
            return sorted(dirs), files
        path = os.path.join(self.base, rel)
        dirs, files = [], {}
        try:
            with os.scandir(path) as it:
                for e in it:
                    if e.is_dir():
                        dirs.append(e.name)
                    elif e.is_file():
                        files[e.name] = e.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            pass
        return sorted(dirs), files

    def walk_files(self, rel: str) -> Iterator[tuple[str, int]]:
        """Every file under `rel` as (relative key, size); one folder's files are contiguous."""
        if self.s3:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.base + rel):
                for obj in page.get("Contents", []):
                    yield obj["Key"][len(self.base) :], obj["Size"]
            return
        yield from _walk_local(os.path.join(self.base, rel), rel.rstrip("/") + "/" if rel else "")

    def read(self, rel: str) -> bytes:
        if self.s3:
            return self.client.get_object(Bucket=self.bucket, Key=self.base + rel)["Body"].read()
        with open(os.path.join(self.base, rel), "rb") as fh:
            return fh.read()

    def open(self, rel: str) -> BinaryIO:
        if self.s3:
            return self.client.get_object(Bucket=self.bucket, Key=self.base + rel)["Body"]
        return open(os.path.join(self.base, rel), "rb")


def _walk_local(path: str, reldir: str) -> Iterator[tuple[str, int]]:
    """os.walk's order (a folder's files sorted, then its sub-folders), from scandir's
    entries: no path arithmetic per file. Symlinks (folders and files) are not followed."""
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    subdirs = []
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e)
            elif e.is_file(follow_symlinks=False):  # a file symlink may lead out of the tree
                yield reldir + e.name, e.stat().st_size
        except OSError:
            continue
    for d in subdirs:
        yield from _walk_local(d.path, reldir + d.name + "/")


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
        raise InputError(f"{store.root}: no Roo Code data found (no tasks/, raw/ or events/)")
    units.sort(key=lambda u: 0 if u.kind == "events" else 1)
    return units


def _detect(
    store: Store, rel: str, user: str, users: set[str] | None, out: list[Unit], depth: int
) -> None:
    dirs, files = store.children(rel)
    if "ui_messages.json" in files or "history_item.json" in files:
        out.append(Unit("task", rel, user if rel else _user_from_path(store, user)))
        return
    if not rel and _basename(store) == "roo":
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


def _basename(store: Store) -> str:
    path = store.base.rstrip("/") if store.s3 else store.base
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _user_from_path(store: Store, default: str) -> str:
    """raw/roo/<user>/ given as the root: the user is the folder name."""
    path = (store.base if store.s3 else store.base.replace(os.sep, "/")).rstrip("/")
    parts = path.split("/")
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
    return unit.prefix.rstrip("/").rsplit("/", 1)[-1] if unit.prefix else _basename(store)


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
    for key, size in store.walk_files(unit.prefix):
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
