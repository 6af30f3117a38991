"""Redact a Roo Code storage folder, a single file, stdin, or an s3:// prefix.

Local folders are spread over processes (redaction is CPU-bound and Hyperscan/regex
hold the GIL); S3 objects over threads, each thread with its own Redactor.
Objects are streamed: S3 bodies are read in chunks and uploads spill to disk above
32 MB, so memory stays bounded for any object size.

The bucket and the input folder are hostile: an object key that is not a clean relative
path, a symlink leading out of the input folder, or a symlink in the output folder is
refused with one line, counted, and the rest goes on (see tasks/common/safepath).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO

from tasks.common.errors import StorageError
from tasks.common.s3 import S3Uri, is_s3
from tasks.common.safepath import UnsafeKeyError, key_problem, safe_join
from tasks.common.storage import S3Store, iter_objects
from tasks.retention.batch import redact_batch
from tasks.retention.config import RedactionConfig
from tasks.retention.engine import Redactor, thread_redactor
from tasks.retention.sources import rule_sources
from tasks.retention.stream import FileStats, is_json_name, redact_stream
from tasks.retention.tree import list_tree
from tasks.retention.validators import load_before_fork

_proc_redactor: Redactor | None = None
# forking and joining workers costs ~25 ms wall (the parent's compiled database is
# inherited) and each worker's own first use of the validators; measured, it pays from
# 16 MB of logs (6 MB redact in ~50 ms CPU in one process) or a thousand small files
# (a file create costs 100-200 us of kernel time on ext4, which two processes overlap)
POOL_MIN_BYTES = 16 * 1024 * 1024
POOL_MIN_FILES = 1000
BATCH_FILES = 2000  # at most this many files per worker task (one or a few scans each)
MAX_PROBLEM_LINES = 1000  # all are counted; this many are listed in the summary


def _init_process(cfg_json: str, key: bytes) -> None:
    global _proc_redactor
    _proc_redactor = Redactor(RedactionConfig.model_validate_json(cfg_json), key)


def _redact_local_batch(pairs: list[tuple[str, str, int]]) -> list[FileStats | str]:
    assert _proc_redactor is not None
    return _local_batch(_proc_redactor, pairs)


def _local_batch(red: Redactor, pairs: list[tuple[str, str, int]]) -> list[FileStats | str]:
    if not red.batchable:
        return [
            _guarded(d, lambda s=s, d=d: redact_file(red, s, d, follow=False)) for s, d, _ in pairs
        ]
    return redact_batch(
        red, pairs, lambda s, d: _guarded(d, lambda: redact_file(red, s, d, follow=False))
    )


def _pool_pays(files: int, size: int) -> bool:
    return files > 1 and (size >= POOL_MIN_BYTES or files >= POOL_MIN_FILES)


def _batches(
    pairs: list[tuple[str, str, int]], size: int, workers: int
) -> list[list[tuple[str, str, int]]]:
    """About four batches per worker, cut by bytes and by file count (a few large logs and
    a thousand small files both spread evenly); listing order is kept within a batch."""
    per_bytes = max(1, size // (workers * 4))
    per_files = max(1, min(BATCH_FILES, -(-len(pairs) // (workers * 4))))
    out: list[list[tuple[str, str, int]]] = [[]]
    held = 0
    for pair in pairs:
        if out[-1] and (held >= per_bytes or len(out[-1]) >= per_files):
            out.append([])
            held = 0
        out[-1].append(pair)
        held += pair[2]
    return out


def _guarded(name: str, work: Callable[[], FileStats]) -> FileStats | str:
    """The stats, or one line naming the output when the file system refused it or the
    object could not be read (StorageError: one line, never the object's bytes)."""
    try:
        return work()
    except OSError as exc:
        return f"{name}: not written ({exc.strerror or type(exc).__name__})"
    except StorageError as exc:
        return f"{name}: not read ({str(exc).splitlines()[0]})"


def _write_new(dst: Path, fill: Callable[[BinaryIO], FileStats]) -> FileStats:
    """Fill dst through a temp name opened with O_NOFOLLOW: a symlink planted at the temp
    name is refused (ELOOP), and the rename replaces a link at dst rather than following it."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.name + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as fout:
        stats = fill(fout)
    os.replace(tmp, dst)  # never leave a half-written redacted file under its real name
    return stats


def redact_file(
    redactor: Redactor, src: str | Path, dst: str | Path, *, follow: bool = True
) -> FileStats:
    """`follow=False` for a listed tree's files (their real paths): a symlink planted there
    since the listing is refused (ELOOP), not followed out of the tree."""
    src, dst = Path(src), Path(dst)
    fd = os.open(src, os.O_RDONLY | (0 if follow else os.O_NOFOLLOW))
    with os.fdopen(fd, "rb") as fin:
        return _write_new(
            dst, lambda fout: redact_stream(redactor, fin, fout, as_json=is_json_name(src.name))
        )


def redact_object(redactor: Redactor, client, src: S3Uri, dst: S3Uri | Path) -> FileStats:
    body = S3Store(client, src.bucket).open(src.key)
    as_json = is_json_name(src.key)
    if isinstance(dst, Path):
        return _write_new(dst, lambda fout: redact_stream(redactor, body, fout, as_json=as_json))
    with tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024) as spool:
        stats = redact_stream(redactor, body, spool, as_json=as_json)
        spool.seek(0)
        client.upload_fileobj(spool, dst.bucket, dst.key)
    return stats


class Summary:
    def __init__(self, redactor: Redactor | None = None) -> None:
        self.files = self.changed = self.bytes_in = self.bytes_out = self.refused = 0
        self.counts: Counter[str] = Counter()
        self.problems: list[str] = []  # one line per refused key, file or symlink
        self.started = time.perf_counter()
        # A refused key is untrusted text (a token in a name, user:pw in a path): problem
        # lines are redacted like the data before they reach stderr or the summary.
        self.redactor = redactor

    def add(self, stats: FileStats | str) -> None:
        if isinstance(stats, str):
            self.refused += 1
            if len(self.problems) < MAX_PROBLEM_LINES:  # all counted, this many kept
                line = stats.encode("utf-8", "surrogatepass")
                line = self.redactor.redact_text(line) if self.redactor else line
                self.problems.append(line.decode("utf-8", "replace"))
            return
        self.files += 1
        self.changed += int(stats.changed)
        self.bytes_in += stats.bytes_in
        self.bytes_out += stats.bytes_out
        self.counts.update(stats.counts)

    def as_dict(self) -> dict[str, Any]:
        secs = time.perf_counter() - self.started
        return {
            "files": self.files,
            "files_changed": self.changed,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(secs, 3),
            "mb_per_s": round(self.bytes_in / 1e6 / secs, 1) if secs > 0 else None,
            "counts": dict(sorted(self.counts.items())),
            "redactions": sum(self.counts.values()),
            "refused": self.refused,
            "problems": self.problems,
            "rule_sources": rule_sources(),
        }


def redact_path(
    src: str,
    dst: str,
    cfg: RedactionConfig,
    key: bytes,
    *,
    client=None,
    workers: int = 2,
) -> dict[str, Any]:
    """Redact src into dst (folder, file, '-', s3:// prefix). Returns counts, never values."""
    summary = Summary(Redactor(cfg, key))
    if src == "-":
        red = Redactor(cfg, key)
        summary.add(_redact_stdio(red, dst))
    elif is_s3(src) or is_s3(dst):
        if client is None:
            raise ValueError("an s3 client is needed for s3:// paths")
        for stats in _redact_s3(src, dst, cfg, key, client, workers):
            summary.add(stats)
    elif os.path.isdir(src):
        pairs, size, problems = list_tree(src, dst)
        for line in problems:
            summary.add(line)
        if workers > 1 and _pool_pays(len(pairs), size):
            load_before_fork()
            # batches of files, not files, cross the process boundary (one scan each)
            with ProcessPoolExecutor(
                workers, initializer=_init_process, initargs=(cfg.model_dump_json(), key)
            ) as pool:
                for results in pool.map(_redact_local_batch, _batches(pairs, size, workers)):
                    for stats in results:
                        summary.add(stats)
        else:
            for stats in _local_batch(Redactor(cfg, key), pairs):
                summary.add(stats)
    else:
        if not Path(src).exists():
            raise FileNotFoundError(2, "no such file", src)
        red = Redactor(cfg, key)
        if dst == "-":
            summary.add(_redact_to_stdout(red, src))
        else:
            summary.add(redact_file(red, src, dst))
    return summary.as_dict()


def _redact_stdio(red: Redactor, dst: str) -> FileStats:
    data_in = sys.stdin.buffer  # JSON mode sniffs the first bytes and falls back to text
    if dst == "-":
        return redact_stream(red, data_in, sys.stdout.buffer, as_json=True)
    with open(dst, "wb") as fout:
        return redact_stream(red, data_in, fout, as_json=True)


def _redact_to_stdout(red: Redactor, src: str) -> FileStats:
    with open(src, "rb") as fin:
        return redact_stream(red, fin, sys.stdout.buffer, as_json=is_json_name(src))


def _redact_s3(src: str, dst: str, cfg: RedactionConfig, key: bytes, client, workers: int):
    if not is_s3(src):
        raise ValueError("with an s3:// output the input must be s3:// too")
    source = S3Uri.parse(src)
    keys = [o["Key"] for o in iter_objects(client, source.bucket, source.key)]

    def target(k: str) -> S3Uri | Path:
        rel = k[len(source.key) :]
        if rel.startswith("/") and source.key and not source.key.endswith("/"):
            rel = rel[1:]  # --in s3://b/raw lists raw/...; a second slash stays and is refused
        if is_s3(dst):
            out = S3Uri.parse(dst)
            if not rel:  # a single object to a single object
                return out
            return S3Uri(out.bucket, f"{out.key.rstrip('/')}/{rel}" if out.key else rel)
        if not rel:
            return Path(dst)
        problem = key_problem(rel)
        if problem:
            raise UnsafeKeyError(
                f"{k[:200]!r} in s3://{source.bucket}: unsafe object key ({problem}), skipped"
            )
        return safe_join(Path(dst), rel)

    def one(k: str) -> FileStats | str:
        try:
            out = target(k)
        except UnsafeKeyError as exc:
            return str(exc)
        src_uri = S3Uri(source.bucket, k)
        name = f"{k[:200]!r} in s3://{source.bucket} -> {out}"
        return _guarded(
            name, lambda: redact_object(thread_redactor(cfg, key), client, src_uri, out)
        )

    with ThreadPoolExecutor(max(1, workers)) as pool:
        yield from pool.map(one, keys)
