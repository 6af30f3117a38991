"""Object keys and file names from outside are hostile: one check before any becomes a path.

A key is accepted as a relative path only when it is clean: not empty, no absolute part,
no ``.``/``..``/empty segment, no NUL or control character, no backslash, at most
``MAX_KEY_BYTES`` bytes of UTF-8 and ``MAX_SEGMENT_BYTES`` per segment, and already in
Unicode NFC (so two spellings of one name cannot both land).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path, PurePosixPath

from tasks.common.errors import InputError

MAX_KEY_BYTES = 1024  # S3's own limit
MAX_SEGMENT_BYTES = 255  # NAME_MAX on Linux and macOS


class UnsafeKeyError(InputError):
    """An object key or file name that must never become a local path."""


def key_problem(key: str) -> str | None:
    """Why `key` is not a clean relative path, or None when it is."""
    if not isinstance(key, str) or not key:
        return "empty key"
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        return f"key longer than {MAX_KEY_BYTES} bytes"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in key):
        return "control character in key"
    if "\\" in key:
        return "backslash in key"
    if key.startswith("/") or (len(key) > 1 and key[1] == ":"):
        return "absolute path"
    if unicodedata.normalize("NFC", key) != key:
        return "key is not Unicode NFC"
    for seg in key.split("/"):
        if seg in ("", ".", ".."):
            return f"path segment {seg!r}" if seg else "empty path segment"
        if len(seg.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            return f"path segment longer than {MAX_SEGMENT_BYTES} bytes"
    return None


def safe_relative(key: str) -> PurePosixPath:
    """`key` as a relative path, or UnsafeKeyError naming it (repr, so odd bytes show)."""
    problem = key_problem(key)
    if problem:
        raise UnsafeKeyError(f"{key[:200]!r}: unsafe object key ({problem})")
    return PurePosixPath(key)


def safe_join(root: Path, key: str) -> Path:
    """root/key for a clean key, refusing any path that resolves outside root.

    Also refuses when an existing folder on the way is a symlink (writing through it would
    land outside root even for a clean key).
    """
    rel = safe_relative(key)
    base = root.resolve()
    target = base.joinpath(*rel.parts)
    cur = base
    for part in rel.parts[:-1]:
        cur = cur / part
        if cur.is_symlink():
            raise UnsafeKeyError(f"{key[:200]!r}: path goes through a symlink ({cur})")
    if target.is_symlink():
        raise UnsafeKeyError(f"{key[:200]!r}: target is a symlink ({target})")
    if not str(target.resolve()).startswith(str(base) + "/") and target.resolve() != base:
        raise UnsafeKeyError(f"{key[:200]!r}: resolves outside {root}")
    return target
