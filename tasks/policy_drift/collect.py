"""The I/O half of policy-drift: the approved policy (verified bundles only), settings
snapshots, the organisation settings and baseline in effect, the period's validated events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tasks.access.snapshot import CollectError
from tasks.access.sources import collect_settings
from tasks.audit.reader import read_table
from tasks.common.errors import InputError
from tasks.common.layout import ORG_SETTINGS_KEY
from tasks.common.models import Period
from tasks.common.periods import period_days
from tasks.common.storage import S3Store, iter_objects
from tasks.policy.chain import applied_versions, canonical, sha256
from tasks.policy.schema import validate_policy
from tasks.policy_drift.approvals import AUTO, UNKNOWN
from tasks.policy_drift.model import InEffect, Inputs, PolicyDriftConfig, Usage
from tasks.telemetry.schema import EVENTS_SCHEMA

USAGE_COLUMNS = ["user", "ts", "category", "provider", "model", "mcp_server", "mode",
                 "target_mode", "command"]  # fmt: skip


def digest(doc: Any) -> str:
    """Of the parsed JSON: re-indenting a file is not a change, changing a value is."""
    return sha256(canonical(doc) if isinstance(doc, dict) else json.dumps(doc).encode())


def approved_policy(client: Any, reports_bucket: str, trust: Any, inputs: Inputs) -> None:
    """The latest applied version and the digests of every applied version's sections (the
    applied versions only: their proposals and approvals were checked when applied)."""
    hist = applied_versions(client, reports_bucket, trust)
    inputs.problems += hist.problems
    for v in hist.versions:
        for name in ("organization", "baseline"):
            if isinstance(v["policy"].get(name), dict):
                inputs.approved.setdefault(name, set()).add(digest(v["policy"][name]))
    if hist.current is None:
        return
    try:
        inputs.policy = validate_policy(hist.current["policy"], hist.current["bundle"])
    except InputError as exc:  # applied before the schema existed: not a usable policy
        inputs.problems.append(str(exc).splitlines()[0])
        return
    inputs.policy_version, inputs.policy_bundle = hist.current["version"], hist.current["bundle"]
    inputs.inputs.append({"uri": hist.current["bundle"],
                          "digest": {"sha256": hist.current["policy_sha256"]}})  # fmt: skip


def in_effect(client: Any, bucket: str, key: str, inputs: Inputs) -> InEffect | None:
    store = S3Store(client, bucket)
    raw, uri = store.read(key), store.uri(key)
    if raw is None:
        return None
    inputs.inputs.append({"uri": uri, "digest": {"sha256": sha256(raw)}})
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return InEffect(uri, None, problem="not JSON")
    if not isinstance(doc, dict):
        return InEffect(uri, None, problem="not a JSON object")
    return InEffect(uri, digest(doc), doc)


def _first_and_count(t: pa.Table, value: pa.ChunkedArray, kind: str, redact: Any) -> list[Usage]:
    keep = pc.and_(pc.is_valid(value), pc.is_valid(t["user"]))
    small = pa.table({"user": t["user"], "value": value, "ts": t["ts"]}).filter(keep)
    if small.num_rows == 0:
        return []
    grouped = small.group_by(["user", "value"]).aggregate([("ts", "min"), ("ts", "count")])
    out = []
    for row in grouped.to_pylist():
        shown = redact(row["value"]) if kind.startswith("command") else row["value"]
        first = row["ts_min"] or datetime.min.replace(tzinfo=UTC)
        out.append(Usage(row["user"], kind, row["value"], shown, first, row["ts_count"]))
    return out


def usage_of(events: pa.Table, redact: Any) -> list[Usage]:
    """What each user did: providers/models requested, MCP servers called, modes, commands."""
    t = events
    is_req = pc.fill_null(pc.equal(t["category"], "api_request"), False)
    pm = pc.if_else(
        pc.and_(is_req, pc.is_valid(t["provider"])),
        pc.binary_join_element_wise(t["provider"], pc.fill_null(t["model"], ""), "/"),
        pa.scalar(None, pa.string()),
    )
    is_cmd = pc.fill_null(pc.equal(t["category"], "command"), False)
    cmd = pc.if_else(is_cmd, t["command"], pa.scalar(None, pa.string()))
    out = _first_and_count(t, pm, "provider_model", redact)
    out += _first_and_count(t, t["mcp_server"], "mcp_server", redact)
    out += _first_and_count(t, t["mode"], "mode", redact)
    out += _first_and_count(t, t["target_mode"], "mode", redact)
    out += _first_and_count(t, cmd, "command", redact)
    # and how each was approved: true (the task file shows it) or unknown (null)
    auto = t["auto_approved"]
    for kind, mask in (
        (AUTO, pc.fill_null(pc.equal(auto, True), False)),
        (UNKNOWN, pc.is_null(auto)),
    ):
        only = pc.if_else(pc.and_(is_cmd, mask), t["command"], pa.scalar(None, pa.string()))
        out += _first_and_count(t, only, kind, redact)
    return merge_usage(out)


def merge_usage(out: list[Usage]) -> list[Usage]:
    """One entry per (user, kind, value): across columns (mode, target_mode) and days."""
    merged: dict[tuple[str, str, str], Usage] = {}
    for u in out:  # a mode seen as `mode` and as `target_mode`: one entry
        k = (u.user, u.kind, u.value)
        if k in merged:
            m = merged[k]
            m.first_seen, m.count = min(m.first_seen, u.first_seen), m.count + u.count
        else:
            merged[k] = u
    return list(merged.values())


def _strings(table: pa.Table) -> pa.Table:
    cols: dict[str, Any] = {
        "auto_approved": table["auto_approved"]
        if "auto_approved" in table.column_names
        else pa.nulls(table.num_rows, pa.bool_())
    }
    for name in USAGE_COLUMNS:
        col = table[name] if name in table.column_names else pa.nulls(table.num_rows, pa.string())
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        cols[name] = col
    return pa.table(cols)


class SettingsStore(S3Store):
    """The data bucket as collect_settings reads it, keeping what its one listing and its
    reads show: when each settings file was collected (LastModified, a setting's first
    seen) and the digest of each file read (the bundle's inputs)."""

    def __init__(self, client: Any, bucket: str) -> None:
        super().__init__(client, bucket)
        self.seen: dict[str, datetime] = {}
        self.digests: dict[str, str] = {}

    def keys(self, prefix: str) -> Iterator[str]:
        for obj in iter_objects(self.client, self.bucket, self.prefix + prefix):
            key = obj["Key"][len(self.prefix) :]
            if "/settings/" in key:  # the task files under raw/roo/ are not kept
                self.seen[self.uri(key)] = obj["LastModified"].astimezone(UTC)
            yield key

    def read(
        self, key: str, limit: int | None = None, version_id: str | None = None
    ) -> bytes | None:
        raw = super().read(key, limit, version_id)
        if raw is not None and limit is None:
            self.digests[self.uri(key)] = sha256(raw)
        return raw


def collect(
    client: Any, data_bucket: str, reports_bucket: str, trust: Any, period: Period,
    cfg: PolicyDriftConfig, redact: Any, now: datetime | None = None,
) -> Inputs:  # fmt: skip
    inputs = Inputs(period=period, now=now or datetime.now(UTC), policy=None, policy_version=0,
                    policy_bundle=None, approved={}, settings={}, settings_seen={}, usage=[],
                    org=None, baseline=None)  # fmt: skip
    approved_policy(client, reports_bucket, trust, inputs)
    store = SettingsStore(client, data_bucket)
    settings, errors, read = collect_settings(store)  # one listing of raw/roo/
    inputs.settings, inputs.errors = settings, list(errors)
    inputs.settings_seen = {uri: store.seen[uri] for uri in read if uri in store.seen}
    inputs.inputs += [{"uri": uri, "digest": {"sha256": store.digests[uri]}} for uri in read]
    inputs.org = in_effect(client, data_bucket, ORG_SETTINGS_KEY, inputs)
    inputs.baseline = in_effect(client, data_bucket, cfg.baseline_key, inputs)
    for day in period_days(period):
        table, day_inputs = read_table(client, data_bucket, "events", day, EVENTS_SCHEMA)
        inputs.inputs += day_inputs
        if table is None:
            inputs.errors.append(CollectError(
                source=f"s3://{data_bucket}/validated/events/date={day}",
                problem="no validated events: behaviour not checked for this day", scope="events"))  # fmt: skip
            continue
        inputs.usage += usage_of(_strings(table), redact)
    inputs.usage = merge_usage(inputs.usage)
    return inputs
