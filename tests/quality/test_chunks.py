"""Chunked ingestion (users split into chunks, each ingested alone, then merged) gives the
same tables and counts as one ingest of everything, filters and odd telemetry included."""

from __future__ import annotations

import json
import shutil
from datetime import date

import pyarrow as pa
import pytest

from tasks.common.errors import ConfigError, InputError
from tasks.common.periods import resolve_period
from tasks.quality.chunks import chunk_users_setting, plan_chunks, split_users
from tasks.quality.frames import parse_roster
from tasks.quality.storage import filter_users
from tasks.telemetry.ingest import ingest
from tests.quality.chunking import chunked_ingest, load_raw, merge_chunks

START = date(2026, 11, 17)
PERIOD = resolve_period("2026-11-17", "2026-11-19")
GHOST = "ghost.user"  # telemetry only: no raw/roo/<user>/ folder
MIXED = "raw/events/2026/11/18/collector-mixed.jsonl"


def _env(user, ts: str, kind: str = "Mode Switched", **props) -> dict:
    return {"v": 1, "user": user, "received_at": ts, "event": {"type": kind, "properties": props}}


def _mixed_lines(someone: str, their_task: str) -> list[bytes]:
    """A collector file mixing users: the events-only user, a user with task folders, a
    line filed under another user than the task's owner, and lines that name no valid
    user (quarantined whatever the user filter)."""
    rows = [
        _env(GHOST, "2026-11-18T09:00:00Z", newMode="architect", taskId="t-ghost"),
        _env(GHOST, "2026-11-18T09:30:00Z", "Checkpoint Restored", taskId=their_task),
        _env(GHOST, "2026-11-18T09:01:00Z", "LLM Completion", inputTokens=10, cost=0.1),
        _env(someone, "2026-11-18T10:00:00Z", newMode="code"),
        _env(GHOST, "2026-11-20T10:00:00Z"),  # outside the period: neither read nor counted
        _env(GHOST, "2026-11-18T11:00:00Z", "Task Message", message={"type": "say"}),  # no ts
        {"v": 1, "received_at": "2026-11-18T12:00:00Z", "event": {"type": "X"}},  # no user
        _env(GHOST, "2026-11-18T12:00:00Z") | {"v": 2},  # bad version
    ]
    lines = [json.dumps(r).encode() for r in rows]
    return lines + [b'{"v": 1, "user": "ghost.u', b"\xff\xfe not utf-8"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    from tasks.telemetry.generator import generate_fleet

    root = tmp_path_factory.mktemp("chunks")
    truth = generate_fleet(str(root), users=5, days=2, seed=7, start=START)
    someone = next(u["user"] for u in truth["users"] if u["has_data"])
    their_task = ingest(str(root / "raw"), period=PERIOD, users=[someone]).tasks["task_id"][0]
    lines = _mixed_lines(someone, their_task.as_py())
    (root / MIXED).write_bytes(b"\n".join(lines) + b"\n")
    with (root / "raw/org/roster.csv").open("a") as fh:  # the ghost belongs to a team
        fh.write(f"{GHOST},{GHOST}@example.com,platform,,active,{GHOST}\n")
    return root / "raw", truth


@pytest.fixture(scope="module")
def whole(fleet):
    return ingest(str(fleet[0]), period=PERIOD)


def _rows(table: pa.Table) -> list[str]:
    return sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())


def _assert_same(chunked, single) -> None:
    c = chunked.counts
    assert c["records_in"] == c["valid"] + c["quarantined"]
    assert c["valid"] == chunked.events.num_rows and c["quarantined"] == chunked.quarantine.num_rows
    assert c == single.counts
    for name in ("tasks", "events", "quarantine"):
        a, b = getattr(chunked, name), getattr(single, name)
        assert a.schema == b.schema, name
        assert _rows(a) == _rows(b), name


@pytest.mark.parametrize("chunk_users", [1, 2, 3, None])
def test_chunked_equals_single_ingest_for_the_whole_fleet(fleet, whole, chunk_users):
    raw, truth = fleet
    chunks = plan_chunks(str(raw), period=PERIOD, chunk_users=chunk_users)
    with_data = {u["user"] for u in truth["users"] if u["has_data"]}
    assert sorted(u for c in chunks for u in c) == sorted(with_data | {GHOST})
    assert len(chunks) >= 2  # so the unattributed lines really come back more than once
    chunked = chunked_ingest(str(raw), period=PERIOD, chunk_users=chunk_users)
    _assert_same(chunked, whole)
    # the events-only user is there, and each unattributed line is quarantined once
    assert GHOST in set(chunked.events.column("user").to_pylist())
    mixed = [r for r in chunked.quarantine.to_pylist() if r["source"].endswith(MIXED)]
    reasons = sorted(r["reason"] for r in mixed)
    assert reasons == ["bad_version", "missing_ts", "missing_user", "not_json", "not_utf8"]


@pytest.mark.parametrize(
    "users", [["frank.smith"], [GHOST], ["frank.smith", GHOST, "nobody"], ["nobody"], []]
)
def test_chunked_equals_single_ingest_with_a_user_filter(fleet, users):
    raw, truth = fleet
    single = ingest(str(raw), period=PERIOD, users=users)
    _assert_same(chunked_ingest(str(raw), period=PERIOD, users=users, chunk_users=1), single)
    if users == ["nobody"]:  # nobody's data: only the lines that name no user remain
        planted = [m for m in truth["malformed"] if m["file"].startswith("raw/events/")]
        assert single.events.num_rows == 0 and single.quarantine.num_rows == 4 + len(planted)


def test_chunked_equals_single_ingest_with_a_team_filter_and_one_day(fleet):
    raw, _ = fleet
    roster = parse_roster((raw / "org/roster.csv").read_bytes(), "roster.csv")
    users = filter_users(roster, "platform", None)
    assert GHOST in users and len(users) >= 3
    day = resolve_period("2026-11-18", "2026-11-19")
    single = ingest(str(raw), period=day, users=users)
    _assert_same(chunked_ingest(str(raw), period=day, users=users, chunk_users=2), single)
    assert single.events.num_rows and single.tasks.num_rows


def test_without_telemetry_chunks_only_hold_users_with_folders(fleet, tmp_path):
    raw, truth = fleet
    copy = tmp_path / "raw"
    shutil.copytree(raw / "roo", copy / "roo")
    someone = next(u["user"] for u in truth["users"] if u["has_data"])
    # an unknown user alone in a chunk would fail with "no data"; it is left out instead
    assert plan_chunks(str(copy), users=[someone, "nobody"], chunk_users=1) == [[someone]]
    _assert_same(
        chunked_ingest(str(copy), users=[someone, "nobody"], chunk_users=1),
        ingest(str(copy), users=[someone, "nobody"]),
    )
    with pytest.raises(InputError, match="no Roo Code data found"):
        ingest(str(copy), users=["nobody"])
    with pytest.raises(InputError, match="no Roo Code data found"):
        chunked_ingest(str(copy), users=["nobody"])


def test_merge_keeps_chunk_order_whatever_order_results_arrive(fleet):
    raw, _ = fleet
    chunks = plan_chunks(str(raw), period=PERIOD, chunk_users=2)
    parts = [ingest(str(raw), period=PERIOD, users=c) for c in chunks]
    merged = merge_chunks(parts)
    # mapper returning results in reverse completion order still yields the same tables
    again = chunked_ingest(
        str(raw),
        period=PERIOD,
        chunk_users=2,
        mapper=lambda cs: list(
            reversed([ingest(str(raw), period=PERIOD, users=c) for c in reversed(cs)])
        ),  # fmt: skip
    )
    for name in ("tasks", "events", "quarantine"):
        assert getattr(again, name).equals(getattr(merged, name))
    users = merged.events.column("user").to_pylist()
    firsts = list(dict.fromkeys(u for u in users if u != GHOST))
    assert firsts == sorted(firsts)  # users appear in chunk (sorted) order


def test_load_raw_over_s3_equals_single_ingest(s3, buckets):
    from tasks.telemetry.generator import generate_fleet

    bucket = buckets.data_bucket
    truth = generate_fleet(f"s3://{bucket}/", users=3, days=1, seed=5, start=START, s3_client=s3)
    someone = next(u["user"] for u in truth["users"] if u["has_data"])
    day = resolve_period("2026-11-17", "2026-11-19")
    source = f"s3://{bucket}/raw/"
    their_task = ingest(source, s3_client=s3, period=day, users=[someone]).tasks["task_id"][0]
    body = b"\n".join(_mixed_lines(someone, their_task.as_py()))
    s3.put_object(Bucket=bucket, Key=MIXED, Body=body)
    raw = load_raw(s3, bucket, day, None, None, chunk_users=1)
    single = ingest(f"s3://{bucket}/raw/", s3_client=s3, period=day)
    assert raw.counts == single.counts
    for name in ("tasks", "events"):
        assert _rows(raw.spool.read(name)) == _rows(getattr(single, name))
    assert _rows(raw.quarantine) == _rows(single.quarantine)
    assert GHOST in set(raw.spool.read("events").column("user").to_pylist())
    team = next(u["team"] for u in truth["users"] if u["user"] == someone)
    by_team = load_raw(s3, bucket, day, team, someone, chunk_users=1)  # --team X --user Y
    alone = ingest(f"s3://{bucket}/raw/", s3_client=s3, period=day, users=[someone])
    assert by_team.counts == alone.counts and by_team.spool.read("events").num_rows > 0
    assert set(by_team.spool.read("tasks").column("user").to_pylist()) == {someone}
    assert _rows(by_team.quarantine) == _rows(alone.quarantine)
    assert raw.roster is not None and [i["uri"] for i in raw.inputs] == [
        f"s3://{bucket}/raw/org/roster.csv",
        f"s3://{bucket}/raw/",
    ]


def test_chunk_size_setting(monkeypatch):
    monkeypatch.delenv("COMPLIANCE_INGEST_CHUNK_USERS", raising=False)
    assert chunk_users_setting() is None
    monkeypatch.setenv("COMPLIANCE_INGEST_CHUNK_USERS", "3")
    assert chunk_users_setting() == 3 and chunk_users_setting(5) == 5
    monkeypatch.setenv("COMPLIANCE_INGEST_CHUNK_USERS", "0")
    with pytest.raises(ConfigError, match="COMPLIANCE_INGEST_CHUNK_USERS"):
        chunk_users_setting()
    assert split_users(["c", "a", "b", "a"], 2) == [["a", "b"], ["c"]]
    assert len(split_users([f"u{i:02d}" for i in range(20)], None)) <= 8
    assert split_users([], None) == []
