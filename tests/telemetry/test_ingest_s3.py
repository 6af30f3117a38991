"""Ingestion from an s3:// prefix, boto3 over HTTP against the moto server."""

from __future__ import annotations

from ingest_helpers import T0, envelope, typical_task, upload_tree, write_events, write_task

from tasks.telemetry.ingest import Ingestion, ingest


def test_s3_data_bucket_layout(tmp_path, s3, buckets):
    bucket = buckets.data_bucket
    t1 = write_task(tmp_path / "raw/roo/alice/tasks", typical_task(), history={"mode": "code"})
    t2 = write_task(tmp_path / "raw/roo/bob/tasks", b"[{not json")
    (tmp_path / "raw/roo/alice/tasks" / t1 / "command-output").mkdir()
    (tmp_path / "raw/roo/alice/tasks" / t1 / "command-output/cmd-1.txt").write_text("log")
    write_events(tmp_path, "2025-10-09", [
        envelope("alice", "Task Created", {"taskId": t1, "apiProvider": "bedrock",
                 "appVersion": "3.28.0", "mode": "code"}, "2025-10-09T08:00:00Z"),
        b"garbage",
    ])  # fmt: skip
    assert upload_tree(s3, bucket, tmp_path) == 5
    result = ingest(f"s3://{bucket}/", s3_client=s3)
    rows = {r["task_id"]: r for r in result.tasks.to_pylist()}
    assert set(rows) == {t1, t2}
    assert rows[t1]["user"] == "alice" and rows[t1]["provider"] == "bedrock"
    assert rows[t1]["source"] == f"s3://{bucket}/raw/roo/alice/tasks/{t1}"
    assert rows[t1]["tokens_in"] == 3000
    # v3.28 + anthropic protocol: tokens_in excluded cache, context adds it back
    assert rows[t1]["tokens_in_includes_cache"] is False
    assert rows[t1]["context_tokens"] == 2000 + 300 + 0 + 900
    assert result.counts == {"records_in": 14, "valid": 12, "quarantined": 2}
    sources = result.quarantine.column("source").to_pylist()
    assert f"s3://{bucket}/raw/roo/bob/tasks/{t2}/ui_messages.json" in sources
    assert any(s.endswith("raw/events/2025/10/09/part-0.jsonl") for s in sources)


def test_s3_prefix_single_user_and_small_batches(tmp_path, s3, buckets):
    bucket = buckets.data_bucket
    for i in range(5):
        write_task(tmp_path / "raw/roo/carol/tasks", typical_task(T0 + i * 1000))
    upload_tree(s3, bucket, tmp_path, prefix="fleet/")
    run = Ingestion(
        f"s3://{bucket}/fleet/raw/roo/carol/", s3_client=s3, batch_rows=12, batch_bytes=1
    )
    batches = list(run)
    assert sum(t.num_rows for n, t in batches if n == "events") == 55
    assert sum(1 for n, _ in batches if n == "events") == 5  # a file per batch: 11 rows each
    tasks = [t for n, t in batches if n == "tasks"]
    assert sum(t.num_rows for t in tasks) == 5
    assert set(tasks[0].column("user").to_pylist()) == {"carol"}
    assert run.counts == {"records_in": 55, "valid": 55, "quarantined": 0}
