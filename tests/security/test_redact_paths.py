"""`compliance redact` treats the bucket and the input folder as hostile.

S3 -> folder over real S3 HTTP (moto server): a planted key with a `..` segment, an
absolute-looking key, a NUL or newline in the key never writes outside --out; each is one
line naming the key, counted in the summary, and every other object is still redacted.
Local folder -> folder: a symlink to a file outside --in is not copied in, and a symlink
planted in --out (a folder or a file) is never written through.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import cli
from tasks.retention.config import RedactionConfig
from tasks.retention.redact_io import redact_path

SECRET = "ghp_" + "Zx9" * 12
GOOD = {"raw/ann/t1/ui_messages.json": b'[{"text": "token %s"}]' % SECRET.encode(),
        "raw/ann/t1/cmd.txt": b"export GH=%s\n" % SECRET.encode()}  # fmt: skip
EVIL = [
    "raw/../../escape.txt",
    "raw/ann/../../../escape2.txt",
    "raw//abs.txt",
    "raw/ann/nul\x00.txt",
    "raw/ann/new\nline.txt",
    "raw/ann/./dot.txt",
]


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def planted(s3, buckets):
    bucket = buckets.data_bucket
    for key, body in GOOD.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for key in EVIL:
        with contextlib.suppress(Exception):  # a key the server refuses cannot be planted
            s3.put_object(Bucket=bucket, Key=key, Body=b"pwned " + SECRET.encode())
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="raw/")["Contents"]}
    evil = sorted(listed - set(GOOD))
    assert "raw/../../escape.txt" in evil and len(evil) >= 4
    return bucket, evil


def test_s3_keys_never_write_outside_out(planted, s3, tmp_path):
    bucket, evil = planted
    out = tmp_path / "deep" / "out"
    out.mkdir(parents=True)
    before = {p for p in tmp_path.rglob("*")}
    summary = redact_path(f"s3://{bucket}/raw/", str(out), RedactionConfig(), b"k" * 32,
                          client=s3, workers=2)  # fmt: skip
    outside = {p for p in tmp_path.rglob("*") if p not in before and out not in p.parents}
    assert outside == set(), f"written outside --out: {outside}"
    assert tree(out) == {"ann/t1/ui_messages.json", "ann/t1/cmd.txt"}
    assert summary["files"] == 2 and summary["refused"] == len(evil)
    assert len(summary["problems"]) == len(evil)
    assert all("\n" not in line for line in summary["problems"])
    for key in evil:
        assert any(repr(key)[1:-1][:40] in line for line in summary["problems"]), key
    for f in out.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes()


def test_cli_prints_one_line_per_refused_key_and_fails(planted, s3, tmp_path, buckets):
    bucket, evil = planted
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"storage:\n  endpoint_url: {buckets.endpoint_url}\n  data_bucket: {bucket}\n"
        f"  reports_bucket: {buckets.reports_bucket}\n"
    )
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "--config",
            str(cfg),
            "redact",
            "--in",
            f"s3://{bucket}/raw/",
            "--out",
            str(out),
            "--json",
        ],  # fmt: skip
    )
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    summary = json.loads([line for line in res.stdout.splitlines() if line.startswith("{")][0])
    assert summary["refused"] == len(evil) and summary["files"] == 2
    refused_lines = [line for line in res.stderr.splitlines() if "unsafe object key" in line]
    assert len(refused_lines) == len(evil)
    assert not (tmp_path / "escape.txt").exists() and not Path("/escape.txt").exists()


def test_local_symlink_to_a_file_outside_in_is_not_copied(tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text(f"private {SECRET}\n")
    src = tmp_path / "in"
    (src / "t1").mkdir(parents=True)
    (src / "t1" / "cmd.txt").write_text("ls\n")
    (src / "t1" / "link.txt").symlink_to(outside)
    (src / "t1" / "inner.txt").symlink_to(src / "t1" / "cmd.txt")  # inside the tree: fine
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.txt").write_text("outside folder\n")
    (src / "dirlink").symlink_to(elsewhere, target_is_directory=True)
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        summary = redact_path(str(src), str(out), RedactionConfig(), b"k" * 32, workers=workers)
        assert tree(out) == {"t1/cmd.txt", "t1/inner.txt"}
        assert summary["refused"] == 2
        assert all("symlink" in p for p in summary["problems"])
        assert any("link.txt" in p for p in summary["problems"])
        assert any("dirlink" in p for p in summary["problems"])


@pytest.mark.parametrize("workers", [1, 2])
def test_local_never_writes_through_a_symlink_in_out(tmp_path, workers):
    src = tmp_path / "in"
    (src / "t1").mkdir(parents=True)
    (src / "t1" / "cmd.txt").write_text(f"export T={SECRET}\n")
    (src / "t2").mkdir()
    (src / "t2" / "a.txt").write_text("hello\n")
    (src / "t3").mkdir()
    (src / "t3" / "b.txt").write_text("world\n")
    victim = tmp_path / "victim"
    victim.mkdir()
    target_file = tmp_path / "victim.txt"
    target_file.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "t1").symlink_to(victim, target_is_directory=True)  # folder link
    (out / "t2").mkdir()
    (out / "t2" / "a.txt.partial").symlink_to(target_file)  # the temp name, pre-planted
    summary = redact_path(str(src), str(out), RedactionConfig(), b"k" * 32, workers=workers)
    assert list(victim.iterdir()) == []
    assert target_file.read_text() == "keep me\n"
    assert (out / "t3" / "b.txt").read_text() == "world\n"
    assert summary["refused"] == 2, summary["problems"]
    assert all(os.sep + "out" in p or "t1" in p or "t2" in p for p in summary["problems"])


def test_s3_to_folder_through_a_symlinked_out_subfolder(planted, s3, tmp_path):
    bucket, _ = planted
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "ann").symlink_to(victim, target_is_directory=True)
    summary = redact_path(f"s3://{bucket}/raw/", str(out), RedactionConfig(), b"k" * 32,
                          client=s3, workers=1)  # fmt: skip
    assert list(victim.iterdir()) == []
    assert summary["files"] == 0 and summary["refused"] >= 2


def test_a_refused_key_holding_a_secret_is_redacted_in_the_problem_line():
    """Refused keys are echoed on stderr and in the summary: a token in the name must not be."""
    import os

    from tasks.retention.config import parse_redaction
    from tasks.retention.engine import Redactor
    from tasks.retention.redact_io import Summary

    token = "ghp_" + "q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5Gp0Ae2Ku"
    summary = Summary(
        Redactor(parse_redaction({}), os.environ["COMPLIANCE_REDACTION_KEY"].encode())
    )
    summary.add(f"'raw/../{token}/x.json': unsafe object key (path segment '..')")
    out = summary.as_dict()
    assert out["refused"] == 1 and token not in out["problems"][0]
    assert "[REDACTED:" in out["problems"][0]
