"""The two shared guards: object keys as paths, and CSV cells a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import os

import pytest

from tasks.common.csvsafe import SafeDictWriter, SafeWriter, safe_cell
from tasks.common.safepath import UnsafeKeyError, key_problem, safe_join, safe_relative


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a\x00b",
        "a\nb",
        "a\\..\\b",
        "C:/x",
        "x" * 1025,
        "a/" + "y" * 256,
        "cafe\u0301",  # NFD
        "",
        "a/",
    ],
)
def test_unsafe_keys_are_refused(key: str) -> None:
    assert key_problem(key)
    with pytest.raises(UnsafeKeyError):
        safe_relative(key)


@pytest.mark.parametrize(
    "key", ["report.json", "a/b/c.txt", "caf\u00e9.json", "_chain/000000000001"]
)
def test_clean_keys_pass(key: str) -> None:
    assert key_problem(key) is None
    assert str(safe_relative(key)) == key


def test_safe_join_refuses_symlinked_folder(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(UnsafeKeyError):
        safe_join(root, "link/file.txt")
    assert safe_join(root, "ok/file.txt") == (root / "ok" / "file.txt").resolve()


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_formula_cells_are_neutralised(value: str) -> None:
    buf = io.StringIO()
    SafeWriter(buf, lineterminator="\n").writerow(["ok", value, -3, 1.5])
    row = next(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert row[0] == "ok"
    assert row[1] == "'" + value
    assert row[2:] == ["-3", "1.5"]


def test_dict_writer_neutralises() -> None:
    buf = io.StringIO()
    w = SafeDictWriter(buf, fieldnames=["a", "b"], lineterminator="\n")
    w.writeheader()
    w.writerow({"a": "=1+1", "b": "plain"})
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert rows == [{"a": "'=1+1", "b": "plain"}]
    assert safe_cell(None) is None


def test_carriage_return_inside_a_cell_survives_a_round_trip() -> None:
    buf = io.StringIO()
    w = SafeDictWriter(buf, fieldnames=["a", "b"], lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerow({"a": "x\ry", "b": "\rz", "c": "dropped"})
    rows = list(csv.DictReader(io.StringIO(buf.getvalue(), newline="")))
    assert rows == [{"a": "x\ry", "b": "'\rz"}]


@pytest.mark.parametrize("value", ["-0.500000", "+3", "-1e-3", "-.5"])
def test_numbers_written_as_text_stay_numbers(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", ["-1+2", "-0.5*A1", "+3)", "-"])
def test_number_like_formulas_are_still_neutralised(value: str) -> None:
    assert safe_cell(value) == "'" + value
