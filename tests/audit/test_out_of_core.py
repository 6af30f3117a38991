"""The day's events are read row group by row group (reader.read_events) and the ledger built
out of core (stream.py); the ledger, its bytes and the completeness figures must be
exactly what the whole table held in memory gives (ledger.build_ledger over the
concatenated parts)."""

from __future__ import annotations

import hashlib
import io
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.audit.commands import command_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.day import build_day, read_day
from tasks.audit.ledger import (
    build_ledger,
    count_mutating_rows,
    ledger_csv,
    ledger_jsonl_gz,
    task_workspaces,
)
from tasks.audit.modes import custom_edit_modes
from tasks.audit.reader import event_batches, scope
from tasks.telemetry.schema import EVENTS_SCHEMA


def _parquet(t: pa.Table, row_group_size: int) -> bytes:
    buf = io.BytesIO()
    pq.write_table(t, buf, row_group_size=row_group_size)
    return buf.getvalue()


def test_streamed_ledger_is_byte_identical_to_the_in_memory_one(s3, buckets):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    bucket = buckets.data_bucket
    generate_fleet(f"s3://{bucket}/", users=6, days=1, seed=11, s3_client=s3)
    result = ingest(f"s3://{bucket}/", s3_client=s3)
    day_of = pc.strftime(result.events["ts"], format="%Y-%m-%d")
    day = max(set(day_of.to_pylist()), key=day_of.to_pylist().count)
    events = result.events.filter(pc.equal(day_of, day)).cast(EVENTS_SCHEMA)
    assert events.num_rows > 200
    # Three objects, small row groups: many batches, actions straddling their edges, and
    # the same rows written twice (a rerun's part) so the dedupe sees them across parts.
    third = events.num_rows // 3
    parts = [events.slice(0, third), events.slice(third), events.slice(third, third)]
    prefix = f"validated/events/date={day}/"
    for i, part in enumerate(parts):
        s3.put_object(Bucket=bucket, Key=f"{prefix}r{i}.parquet", Body=_parquet(part, 37))
    s3.put_object(Bucket=bucket, Key=f"validated/tasks/date={day}/r.parquet",
                  Body=_parquet(result.tasks, 1000))  # fmt: skip

    cfg = AuditConfig()
    custom, _ = custom_edit_modes(s3, bucket)
    cfg = cfg.model_copy(update={"edit_modes": sorted(set(cfg.edit_modes) | custom)})
    redact, _ = command_redactor({}, deployment=bucket)
    whole = pa.concat_tables(parts)
    for team, user in ((None, None), (None, sorted(set(whole["user"].to_pylist()))[0])):
        r = build_day(
            read_day(s3, bucket, None, date.fromisoformat(day), cfg, user=user, redaction={})
        )
        table = scope(whole, team, user)
        ref = build_ledger(
            table,
            edit_modes=cfg.all_edit_modes(),
            redact_command=redact,
            workspaces=task_workspaces(result.tasks),
            deny_patterns=cfg.deny_patterns(),
        )
        gz = ledger_jsonl_gz(ref.entries)
        assert r.files["ledger.jsonl.gz"] == gz
        assert r.files["ledger.csv"] == ledger_csv(ref.entries)
        assert r.summary["ledger_sha256"] == hashlib.sha256(gz).hexdigest()
        assert r.ledger.stats == ref.stats and r.ledger.denied == ref.denied
        assert r.summary["completeness"]["mutating_rows"] == count_mutating_rows(
            table, cfg.all_edit_modes()
        )
        assert r.summary["completeness"]["complete"]
        assert ref.stats["exact_duplicates"] > 0  # the rerun part was seen and collapsed
    assert r.summary["rows_in"] < whole.num_rows  # the user scope applied per batch


def test_a_bad_part_is_named_in_one_line_whatever_row_group_it_is_in():
    import pytest

    from tasks.common.errors import InputError
    from tests.audit.conftest import sample_rows, table

    t = table(sample_rows())
    lacking = _parquet(t.drop_columns(["mutates"]), 4)
    with pytest.raises(InputError, match=r"^s3://b/k1.parquet: lacks columns mutates$"):
        list(event_batches([("s3://b/k1.parquet", lacking)]))
    # a column that cannot take the contract's type (a timestamp written as text)
    bad_ts = t.set_column(t.schema.get_field_index("ts"), "ts", pa.array(["soon"] * t.num_rows))
    with pytest.raises(InputError, match=r"^s3://b/k2.parquet: not a readable parquet file"):
        list(event_batches([("s3://b/k2.parquet", _parquet(bad_ts, 4))]))
    good = _parquet(t, 4)
    with pytest.raises(InputError, match=r"^s3://b/k3.parquet: not a readable parquet file"):
        list(event_batches([("s3://b/k3.parquet", good[: len(good) // 2])]))  # truncated
