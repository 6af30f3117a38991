"""The files of a local input tree and where each one's redacted copy goes.

One os.scandir per folder (no Path object, no extra stat for a plain file: the directory
entry says what it is). The output side gets safe_join's refusals (an unclean key, a
symlink on the way, a symlink planted at the target) with one lstat and one listing per
output folder that exists, none under one that does not, instead of checks per file. A
fleet is thousands of 4 KB files, so the per-file cost of listing is what bounds it.

What is not a readable regular file is never silently dropped: a symlink leading out of the
input tree, a dangling symlink, a FIFO, socket or device, and a folder that cannot be listed
each give one line (counted by the caller). A symlinked folder inside the tree is not
descended (its files are listed at their real place); a file symlink inside it is read at
its real path.
"""

from __future__ import annotations

import os
import re
import stat

from tasks.common.safepath import key_problem

_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,255}")  # nothing key_problem could object to


def list_tree(src: str, dst: str) -> tuple[list[tuple[str, str, int]], int, list[str]]:
    """(real input file, output path, size) for every regular file under src in sorted
    order, their total bytes, and one problem line per entry that was skipped."""
    root = os.path.realpath(src)
    out_root = os.path.realpath(dst)
    pairs: list[tuple[str, str, int]] = []
    problems: list[str] = []
    size = 0
    # (input folder, its path relative to src + "/", its output folder, the output
    # folder's state, all segments plain): the output side is checked once per folder
    stack = [(root, "", out_root, _state(out_root), True)]
    while stack:
        here, rel_dir, out_dir, state, plain_dir = stack.pop()
        try:
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            problems.append(f"{here}: folder not listed ({exc.strerror or type(exc).__name__})")
            continue
        files: list[tuple[str, str, int]] = []  # (name, real path, size)
        subdirs = []
        for e in entries:
            kind = _kind(e, root, src, problems)
            if kind is None:
                continue
            if kind == "dir":
                subdirs.append(e)
            else:
                files.append(kind)
        if files:
            size += _targets(rel_dir, out_dir, state, plain_dir, files, pairs, problems)
        # reversed onto the stack: folders come out in sorted order
        for e in reversed(subdirs):
            child = os.path.join(out_dir, e.name)
            plain = plain_dir and _plain(e.name)
            # below a missing folder nothing exists: no lookup; a problem is inherited
            sub = state if state != _PRESENT else _state(child)
            stack.append((e.path, f"{rel_dir}{e.name}/", child, sub, plain))
    return pairs, size, problems


_PRESENT, _ABSENT = "present", "absent"  # else: a "path goes through a symlink" reason


def _state(out_dir: str) -> str:
    """Whether an output folder exists already, or why nothing may be written under it."""
    try:
        st = os.lstat(out_dir)
    except OSError:
        return _ABSENT
    return f"path goes through a symlink ({out_dir})" if stat.S_ISLNK(st.st_mode) else _PRESENT


def _plain(name: str) -> bool:
    return bool(_PLAIN_NAME.fullmatch(name)) and name not in (".", "..")


def _kind(e: os.DirEntry, root: str, src: str, problems: list[str]):
    """'dir' for a folder to descend, (name, real path, size) for a file, None to skip."""
    try:
        if e.is_symlink():
            real = os.path.realpath(e.path)
            if real != root and not real.startswith(root + os.sep):
                problems.append(f"{e.path}: symlink to {real}, outside {src}; not followed")
                return None
            try:
                st = os.stat(real)
            except OSError:
                problems.append(f"{e.path}: dangling symlink; skipped")
                return None
            if stat.S_ISDIR(st.st_mode):
                return None  # inside the tree: its files are listed where they are
            path = real
        elif e.is_dir(follow_symlinks=False):
            return "dir"
        else:
            st = e.stat(follow_symlinks=False)
            path = e.path
    except OSError as exc:
        problems.append(f"{e.path}: not listed ({exc.strerror or type(exc).__name__})")
        return None
    if not stat.S_ISREG(st.st_mode):
        problems.append(f"{e.path}: not a regular file ({_what(st.st_mode)}); skipped")
        return None
    return (e.name, path, st.st_size)


def _what(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _targets(
    rel_dir: str,
    out_dir: str,
    state: str,
    plain_dir: bool,
    files: list[tuple[str, str, int]],
    pairs: list[tuple[str, str, int]],
    problems: list[str],
) -> int:
    """Output paths for one folder's files, with safe_join's refusals: an unclean key, a
    symlink on the way (the folder's state) or planted at the target (one listing)."""
    links = _links_in(out_dir) if state == _PRESENT else set()
    size = 0
    for name, real, n in files:
        rel = rel_dir + name
        plain = plain_dir and _plain(name) and len(rel) <= 1024
        problem = None if plain else key_problem(rel)
        target = os.path.join(out_dir, name)
        if problem:
            problems.append(f"{rel[:200]!r}: unsafe object key ({problem})")
        elif state not in (_PRESENT, _ABSENT):
            problems.append(f"{rel[:200]!r}: {state}")
        elif name in links:
            problems.append(f"{rel[:200]!r}: target is a symlink ({target})")
        else:
            pairs.append((real, target, n))
            size += n
    return size


def _links_in(folder: str) -> set[str]:
    """Names of the symlinks already in an output folder (none when it does not exist)."""
    try:
        with os.scandir(folder) as it:
            return {e.name for e in it if e.is_symlink()}
    except OSError:
        return set()
