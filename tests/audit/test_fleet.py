"""A generated fleet, ingested and partitioned by day, gives exactly the generator's
mutating actions (count and content), nothing read-only."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from datetime import date, datetime, timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq

from tasks.audit.commands import command_redactor
from tasks.audit.config import AuditConfig
from tasks.audit.modes import edit_slugs
from tests.audit.days import run_day

KIND = {"file_write": "write", "command": "command", "mcp_call": "mcp", "rollback": "restore", "mode_switch": "mode_switch"}  # fmt: skip
# Telemetry-only actions carry the collector's receive time (the generator adds 0.15-4 s).
RECEIVE_DELAY = timedelta(seconds=5)


def _detail(kind: str, a: dict) -> object:
    return {
        "write": a.get("path"),
        "command": a.get("command"),
        "mcp": (a.get("server"), a.get("tool")),
        "mode_switch": a.get("mode"),
        "restore": None,
    }[kind]


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_fleet_ledger_is_exactly_the_generated_actions(s3, buckets):
    from tasks.telemetry.generator import generate_fleet
    from tasks.telemetry.ingest import ingest

    truth = generate_fleet(f"s3://{buckets.data_bucket}/", users=4, days=2, seed=7, s3_client=s3)
    result = ingest(f"s3://{buckets.data_bucket}/", s3_client=s3)
    events = result.events
    day_of = pc.strftime(events["ts"], format="%Y-%m-%d")
    entries, findings, ledger_bytes = [], [], b""
    for day in sorted(set(day_of.to_pylist())):  # the quality job's date= partitions
        for name, part in (
            ("events", events.filter(pc.equal(day_of, day))),
            ("tasks", result.tasks),
        ):
            buf = io.BytesIO()
            pq.write_table(part, buf)
            s3.put_object(Bucket=buckets.data_bucket, Key=f"validated/{name}/date={day}/r.parquet", Body=buf.getvalue())  # fmt: skip
        r = run_day(s3, buckets.data_bucket, None, date.fromisoformat(day), AuditConfig(), redaction={})  # fmt: skip
        assert r.summary["completeness"]["complete"], r.summary["completeness"]
        assert "docs-writer" in r.summary["edit_modes"]  # discovered from custom_modes.yaml
        entries += r.ledger.entries
        findings += r.findings
        ledger_bytes += gzip.decompress(bytes(r.files["ledger.jsonl.gz"])) + bytes(
            r.files["ledger.csv"]
        )

    # commands are stored redacted: compare with the truth's commands through the same engine
    redact, method = command_redactor(redaction={}, deployment=buckets.data_bucket)
    assert method == "redaction-engine"
    for a in truth["mutating_action_list"]:
        if a["kind"] == "command":
            a["command"] = redact(a["command"])
    for secret in truth["secrets"]:
        assert secret["value"].encode() not in ledger_bytes, secret["kind"]

    expected = truth["mutating_actions"]
    assert len(entries) == expected["count"]
    assert dict(Counter(KIND[e["kind"]] for e in entries)) == expected["by_kind"]
    assert set(expected["by_kind"]) == {"write", "command", "mcp", "restore", "mode_switch"}

    def key(user, task, kind, detail):
        return (user, task, kind, str(detail))

    want: dict[tuple, list[datetime]] = {}
    for a in truth["mutating_action_list"]:
        want.setdefault(key(a["user"], a["task_id"], a["kind"], _detail(a["kind"], a)), []).append(
            _ts(a["ts"])
        )
    for e in entries:
        kind = KIND[e["kind"]]
        detail = {"write": e["path"], "command": e["command"], "mcp": (e["mcp_server"], e["mcp_tool"]), "mode_switch": e["target_mode"], "restore": None}[kind]  # fmt: skip
        times = want.get(key(e["user"], e["task_id"], kind, detail))
        assert times, f"ledger entry not in the ground truth: {e}"
        ts = _ts(e["ts"])
        slack = (
            RECEIVE_DELAY
            if e["source"] == "telemetry" and e["path"] is None and e["command"] is None
            else timedelta(0)
        )
        match = min(times, key=lambda t: abs(t - ts))
        assert ts - slack <= match <= ts, (e, match)
        times.remove(match)
    assert all(not t for t in want.values())

    # the planted incidents the ledger can see
    by_kind = {i["kind"]: i for i in truth["incidents"]}
    outside = by_kind["write_outside_workspace"]
    flagged = {f.details["path"] for f in findings if f.check == "audit.write_outside_workspace"}
    assert flagged == set(outside["details"]["paths"])
    bursts = [f for f in findings if f.check == "audit.write_burst"]
    assert [f.details["user"] for f in bursts] == [by_kind["write_burst"]["user"]]


def test_edit_slugs_reads_custom_mode_groups():
    doc = {
        "customModes": [
            {"slug": "docs-writer", "groups": ["read", ["edit", {"fileRegex": r"\.md$"}]]},
            {"slug": "reviewer", "groups": ["read", "browser"]},
            {"slug": "fixer", "groups": ["edit", "command"]},
            {"groups": ["edit"]},
        ]
    }
    assert edit_slugs(doc) == {"docs-writer", "fixer"}
    assert edit_slugs(None) == set() and edit_slugs({"customModes": "x"}) == set()
