"""A file of a listed tree swapped for a symlink between the listing and its read (a race
with whoever writes the tree) is refused, not followed out of the tree: the tree's reads
open the listed real path with O_NOFOLLOW. A file named on the command line is still
followed (the user named it)."""

from __future__ import annotations

import errno
import os

import pytest

from tasks.retention.batch import _read_small
from tasks.retention.config import parse_redaction
from tasks.retention.engine import Redactor
from tasks.retention.redact_io import redact_file

SECRET = "ghp_" + "a1B2" * 9


@pytest.fixture
def swapped(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text(f"token {SECRET}\n")
    listed = tmp_path / "tree" / "t1" / "ui_messages.json"
    listed.parent.mkdir(parents=True)
    os.symlink(outside, listed)  # was a regular file when the tree was listed
    return listed, outside


def test_a_small_file_swapped_for_a_symlink_is_not_read(swapped):
    listed, outside = swapped
    with pytest.raises(OSError) as err:
        _read_small(str(listed), outside.stat().st_size)
    assert err.value.errno == errno.ELOOP


def test_a_large_file_swapped_for_a_symlink_is_not_read(swapped, tmp_path):
    listed, _outside = swapped
    red = Redactor(parse_redaction({}), b"k" * 32)
    with pytest.raises(OSError) as err:
        redact_file(red, str(listed), str(tmp_path / "out.json"), follow=False)
    assert err.value.errno == errno.ELOOP
    assert not (tmp_path / "out.json").exists()


def test_a_file_named_by_the_user_is_followed(swapped, tmp_path):
    listed, _outside = swapped
    red = Redactor(parse_redaction({}), b"k" * 32)
    redact_file(red, str(listed), str(tmp_path / "out.txt"))
    out = (tmp_path / "out.txt").read_text()
    assert SECRET not in out and "[REDACTED:" in out
