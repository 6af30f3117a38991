"""One collect run: discover, plan against the ledger, skip tasks still being written, upload.

Counts: `uploaded` files put, `unchanged` files the ledger already holds (same size and
mtime, or same SHA-256), `skipped` files of tasks still being written (modified in the
last minute, or not valid JSON for less than a day), `bytes` sent, `errors` files that
could not be read or put (each one line in `notes`, the run goes on).
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tasks.collect.discover import discover
from tasks.collect.files import Item, task_items
from tasks.collect.ledger import Ledger
from tasks.collect.scrub import Scrubber
from tasks.collect.settings import (
    Generated,
    global_files,
    inputs_fingerprint,
    project_files,
    snapshot,
    workspaces,
)
from tasks.collect.upload import (
    MULTIPART_THRESHOLD,
    put_bytes,
    put_file,
    put_redacted,
    sha256_file,
)
from tasks.common.s3 import S3Uri
from tasks.common.safepath import key_problem

FRESH_SECONDS = 60  # a task modified this recently is still being written
INVALID_GRACE = 86400  # invalid JSON for longer than this is sent as it is


class CollectError(Exception):
    """A run that cannot start (bad user name, bad target): one line."""


@dataclass
class Result:
    user: str
    uploaded: int = 0
    unchanged: int = 0
    skipped: int = 0
    bytes: int = 0
    errors: int = 0
    notes: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # keys a dry run would send

    def summary(self) -> dict[str, Any]:
        keys = ("user", "uploaded", "unchanged", "skipped", "bytes", "errors")
        return {k: getattr(self, k) for k in keys}


def user_prefix(target: S3Uri, user: str) -> str:
    problem = key_problem(user)
    if problem or "/" in user:
        raise CollectError(f"user {user!r}: not usable in an object key ({problem or 'slash'})")
    base = target.key if not target.key or target.key.endswith("/") else target.key + "/"
    return f"{base}roo/{user}/"


def _valid_json(path: str) -> bool:
    try:
        orjson.loads(Path(path).read_bytes())
        return True
    except (OSError, orjson.JSONDecodeError):
        return False


def _in_progress(items: list[Item], led: Ledger, now: float, res: Result) -> set[str]:
    """Task ids to skip this run (their candidate files only)."""
    skip: set[str] = set()
    by_task: dict[str, list[Item]] = {}
    for it in items:
        by_task.setdefault(it.task_id or "_index", []).append(it)
    for task, its in by_task.items():
        if any(now - it.mtime_ns / 1e9 < FRESH_SECONDS for it in its):
            skip.add(task)
            continue
        if all(_valid_json(it.src) for it in its if it.src.endswith(".json")):
            led.pending.pop(task, None)
            continue
        first = led.pending.setdefault(task, now)
        if now - first < INVALID_GRACE:
            skip.add(task)
        else:
            res.notes.append(f"task {task}: invalid JSON for over a day, sent as it is")
    return skip


def collect(
    home: Path,
    user: str,
    target: S3Uri,
    client: Any,
    ledger_path: Path,
    *,
    key: bytes,
    dry_run: bool = False,
    redact: bool = False,
    workspace_roots: list[Path] | None = None,
    environ: dict[str, str] | None = None,
    now: float | None = None,
    workers: int = 8,
) -> Result:
    prefix = user_prefix(target, user)
    now = time.time() if now is None else now
    res = Result(user=user)
    led = Ledger.load(ledger_path, f"s3://{target.bucket}/{prefix}")
    disc = discover(home, environ)
    notes = disc.notes
    items: dict[str, Item] = {}
    indexes: list[Path] = []
    for inst in disc.installs:
        for st in inst.storages:
            found, index = task_items(st.path, notes)
            for it in found:  # the same task in two storages: the newer copy
                if it.key not in items or it.mtime_ns > items[it.key].mtime_ns:
                    items[it.key] = it
            if index:
                indexes.append(index)
    entries = _history(indexes, items, notes)
    for index in indexes[:1]:
        st = index.lstat()
        items["tasks/_index.json"] = Item(
            str(index), "tasks/_index.json", st.st_size, st.st_mtime_ns
        )
    if len(indexes) > 1:
        notes.append(f"{len(indexes)} task indexes found; {indexes[0]} sent")
    notes += [f"{i.user_data}: {i.state_note}" for i in disc.installs if i.state_note]
    ws_paths = workspaces(entries)
    fingerprint = inputs_fingerprint(disc, ws_paths, key)
    generated: list[Generated] = []
    same_inputs = led.inputs.get("fingerprint") == fingerprint and all(
        k in led.files for k in led.inputs.get("keys", [])
    )
    if same_inputs:  # the settings documents would come out the same: skip the work
        res.unchanged += len(led.inputs.get("keys", []))
    else:
        scrub = Scrubber(key)
        generated = global_files(disc, scrub, notes)
        proj, ws_settings = project_files(ws_paths, disc.home, scrub, notes, workspace_roots or [])
        generated += proj
        snap = snapshot(disc, scrub, notes, ws_settings)
        if snap:
            generated.append(snap)
    changed = _changed(items.values(), led, dry_run)
    res.unchanged += len(items) - len(changed)
    skip = _in_progress(changed, led, now, res)
    todo = [it for it in changed if (it.task_id or "_index") not in skip]
    res.skipped = len(changed) - len(todo)
    gen_todo = []
    for g in generated:
        if led.sha(g.key) == hashlib.sha256(g.data).hexdigest():
            res.unchanged += 1
        else:
            gen_todo.append(g)
    if dry_run:
        res.planned = sorted([it.key for it in todo] + [g.key for g in gen_todo])
        res.notes = notes
        return res
    red = None
    if redact:
        from tasks.retention.config import RedactionConfig
        from tasks.retention.engine import thread_redactor

        cfg = RedactionConfig()
        red = lambda: thread_redactor(cfg, key)  # noqa: E731 - one Redactor per thread
    sender = _Sender(client, target.bucket, prefix, led, res, red)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(sender.item, todo))
            list(pool.map(sender.generated, gen_todo))
        if not same_inputs and not sender.failed_generated:
            led.set_inputs(fingerprint, [g.key for g in generated])
    finally:
        led.save()
    res.notes = notes + sender.notes
    return res


def _changed(items, led: Ledger, dry_run: bool) -> list[Item]:
    """Items whose bytes differ from what was sent: stat first, SHA-256 when stat differs."""
    out = []
    for it in items:
        if led.same_stat(it.key, it.size, it.mtime_ns):
            continue
        known = led.sha(it.key)
        if known and it.size == led.files[it.key].get("size"):
            try:
                same = sha256_file(it.src) == known
            except OSError:
                same = False
            if same:  # touched, not changed: remember the new stat
                if not dry_run:
                    led.record(it.key, **{**led.files[it.key], "mtime_ns": it.mtime_ns})
                continue
        out.append(it)
    return out


def _history(indexes: list[Path], items: dict[str, Item], notes: list[str]) -> list[dict]:
    """History entries (for workspace names): every _index.json, then history_item.json
    of tasks not in an index."""
    entries: list[dict] = []
    ids: set[str] = set()
    for index in indexes:
        try:
            data = orjson.loads(index.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            notes.append(f"{index}: not valid JSON (sent as it is)")
            continue
        for e in data.get("entries", []) if isinstance(data, dict) else []:
            if isinstance(e, dict):
                entries.append(e)
                ids.add(str(e.get("id")))
    for it in items.values():
        if it.name == "history_item.json" and it.task_id not in ids:
            try:
                e = orjson.loads(it.path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                continue
            if isinstance(e, dict):
                entries.append(e)
    return entries


class _Sender:
    def __init__(self, client, bucket, prefix, led, res, red) -> None:
        self.client, self.bucket, self.prefix, self.led, self.res = client, bucket, prefix, led, res
        self.red = red
        self.notes: list[str] = []
        self.failed_generated = False

    def _ok(self, nbytes: int) -> None:
        with self.led.lock:
            self.res.uploaded += 1
            self.res.bytes += nbytes

    def _fail(self, what: str, exc: Exception) -> None:
        code = (
            getattr(exc, "response", {}).get("Error", {}).get("Code")
            if hasattr(exc, "response")
            else None
        )
        with self.led.lock:
            self.res.errors += 1
            self.notes.append(f"{what}: not sent ({code or type(exc).__name__})")

    def item(self, it: Item) -> None:
        key = self.prefix + it.key
        try:
            if self.red is not None:
                sha = sha256_file(it.src)
                version, n = put_redacted(self.client, self.bucket, key, it.path, self.red())
            elif it.size > MULTIPART_THRESHOLD:
                sha, n = sha256_file(it.src), it.size
                with open(it.src, "rb") as fobj:
                    version = put_file(self.client, self.bucket, key, fobj)
            else:
                data = it.path.read_bytes()
                sha, n = hashlib.sha256(data).hexdigest(), len(data)
                version = put_bytes(self.client, self.bucket, key, data)
            st = os.lstat(it.src)
        except Exception as exc:
            self._fail(str(it.src), exc)
            return
        if (st.st_size, st.st_mtime_ns) != (it.size, it.mtime_ns):
            self.notes.append(f"{it.src}: changed while sent; sent again next run")
        else:
            self.led.record(
                it.key,
                path=str(it.src),
                size=it.size,
                mtime_ns=it.mtime_ns,
                sha256=sha,
                version_id=version,
            )
        self._ok(n)

    def generated(self, g: Generated) -> None:
        try:
            version = put_bytes(self.client, self.bucket, self.prefix + g.key, g.data)
        except Exception as exc:
            self.failed_generated = True
            self._fail(g.key, exc)
            return
        sha = hashlib.sha256(g.data).hexdigest()
        self.led.record(
            g.key,
            path=";".join(g.sources),
            size=len(g.data),
            mtime_ns=0,
            sha256=sha,
            version_id=version,
        )
        self._ok(len(g.data))
