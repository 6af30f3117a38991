"""`compliance redact s3://…` over a prefix where one object cannot be read: one line
naming the key, counted; the other objects are still redacted (never a traceback)."""

from __future__ import annotations

from tasks.common.s3 import s3_client
from tasks.retention.config import parse_redaction
from tasks.retention.redact_io import redact_path
from tests.retention.test_version_reads import answer_with


def test_an_unreadable_object_is_one_line_and_the_rest_are_redacted(
    buckets, storage_settings, tmp_path
):
    client = s3_client(storage_settings, max_attempts=1)
    bucket = buckets.data_bucket
    secret = "ghp_" + "a1B2" * 9
    for name in ("a", "b", "c"):
        client.put_object(
            Bucket=bucket, Key=f"raw/roo/u/{name}.txt", Body=f"token {secret}\n".encode()
        )
    answered = answer_with(client, 403, "GET", "/raw/roo/u/b.txt")
    cfg = parse_redaction({})
    out = tmp_path / "out"
    summary = redact_path(f"s3://{bucket}/raw/roo/", str(out), cfg, b"k" * 32, client=client)
    assert answered  # the 403 was served
    written = sorted(p.name for p in out.rglob("*.txt"))
    assert written == ["a.txt", "c.txt"]
    assert all(secret not in p.read_text() for p in out.rglob("*.txt"))
    problems = summary["problems"]
    assert len(problems) == 1, problems
    assert "b.txt" in problems[0] and "not read" in problems[0] and "403" in problems[0]
    assert "\n" not in problems[0] and secret not in problems[0]
