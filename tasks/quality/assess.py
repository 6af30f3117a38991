"""telemetry-quality's evaluation over the run's spool, one batch in memory at a time:
validate each table with its suite (Great Expectations per batch, merged exactly:
batched.py), split off the bad rows (the valid ones written back to the spool), compute
fleet health and the alert signals, decide the gate. The result is the one a whole-table
evaluation gives (tests/quality/test_bounded.py against tests/quality/oracle.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from tasks.common.errors import ConfigError
from tasks.common.models import Finding, Period, RunStatus
from tasks.common.periods import period_days
from tasks.quality import gate as gates
from tasks.quality.config import QualityConfig
from tasks.quality.frames import join_team, to_frame
from tasks.quality.gx_runner import GxValidator, SuiteOutcome
from tasks.quality.health import fleet_metrics, signals_of
from tasks.quality.parameters import OPEN_MAX, TABLES, expectation_parameters
from tasks.quality.signal_rows import SignalRows
from tasks.quality.split import SplitResult
from tasks.quality.spool import Spool, batch_rows_setting
from tasks.quality.suites import LoadedSuite

__all__ = ["Assessment", "assess", "expectation_parameters", "summary"]


@dataclass
class Assessment:
    outcomes: dict[str, SuiteOutcome]
    splits: dict[str, SplitResult]
    parse_quarantine: list[dict[str, Any]]
    metrics: dict[str, Any]
    signals: list
    findings: list[Finding]
    gate: gates.Gate
    status: RunStatus
    counts: dict[str, int]
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    valid: Spool | None = None  # the valid rows: parts "valid-tasks", "valid-events"
    batches: dict[str, int] = field(default_factory=dict)  # batches validated per table


def parse_quarantine_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for r in rows:
        r.setdefault("table", "raw")
        r["reasons"] = [r.get("reason")]
        r["day"] = None
    return rows


def _pairs(spool: Spool, name: str, roster: pd.DataFrame | None, rows: int):
    """Batches as (Arrow table, frame indexed by the rows' positions in the whole table)."""

    def pairs() -> Iterator[tuple[pa.Table, pd.DataFrame]]:
        start = 0
        for table in spool.batches(name, rows):
            table = join_team(table, roster)
            frame = to_frame(table)
            frame.index = pd.RangeIndex(start, start + len(frame))
            start += len(frame)
            yield table, frame

    return pairs


def _table(
    name: str, spool: Spool, suite: LoadedSuite, validator: GxValidator, parameters: dict[str, Any],
    roster: pd.DataFrame | None, rows: int, valid_frame: Callable[[pd.DataFrame], None],
) -> tuple[SuiteOutcome, SplitResult, int]:  # fmt: skip
    """One table: validated over its batches, then split batch by batch (a second pass:
    the row positions GX found bad are only known at the end); its valid rows written to
    the spool as `valid-<name>` and handed to `valid_frame`."""
    pairs = _pairs(spool, name, roster, rows)
    outcome = validator.validate_batches(suite, lambda: (f for _, f in pairs()), parameters)
    split, seen, batches, writer = SplitResult(table=name), {}, 0, None
    try:
        for table, frame in pairs():
            keep = split.add(frame, outcome, seen)
            valid = table.filter(pa.array(keep))
            writer = writer or spool.writer(f"valid-{name}", valid.schema)
            writer.write_table(valid)
            valid_frame(frame[keep])
            batches += 1
    finally:
        if writer is not None:
            writer.close()
    return outcome, split, batches


def assess(
    spool: Spool,
    ingest_counts: dict[str, int],
    ingest_quarantine: pa.Table,
    suites: dict[str, LoadedSuite],
    period: Period,
    cfg: QualityConfig,
    parameters: dict[str, Any],
    roster: pd.DataFrame | None = None,
    validator: GxValidator | None = None,
    batch_rows: int | None = None,
) -> Assessment:
    """Validate each spooled table with its suite, split off bad rows, compute health,
    decide the gate; `batch_rows` rows in memory at a time (default: the setting)."""
    validator = validator or GxValidator()
    rows = batch_rows or batch_rows_setting()
    missing = [t for t in TABLES if t not in suites]
    if missing:
        raise ConfigError(f"expectations: no suite for table(s) {', '.join(missing)}")
    outcomes: dict[str, SuiteOutcome] = {}
    splits: dict[str, SplitResult] = {}
    batches: dict[str, int] = {}
    task_frames: list[pd.DataFrame] = []
    signal_rows = SignalRows(period_days(period))
    sink = {"tasks": task_frames.append, "events": signal_rows.add}
    for name in TABLES:
        outcomes[name], splits[name], batches[name] = _table(
            name, spool, suites[name], validator, parameters, roster, rows, sink[name]
        )
    if roster is not None and "roster" in suites:
        outcomes["roster"] = validator.validate(suites["roster"], roster, parameters)
    metrics = fleet_metrics(pd.concat(task_frames) if len(task_frames) > 1 else task_frames[0])
    del task_frames[:]
    signals = signals_of(signal_rows, period_days(period), cfg.signals)
    del signal_rows

    parse_q = parse_quarantine_rows(ingest_quarantine)
    by_reason: dict[str, int] = {}
    for r in parse_q:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
    for s in splits.values():
        for k, v in s.by_reason.items():
            by_reason[k] = by_reason.get(k, 0) + v
    records = int(ingest_counts.get("records_in", 0)) + splits["tasks"].rows_in
    quarantined = len(parse_q) + sum(len(s.quarantine) for s in splits.values())
    findings: list[Finding] = []
    for o in outcomes.values():
        findings += gates.expectation_findings(o)
    q_finding, q_reason = gates.quarantine_finding(
        quarantined, records, by_reason, cfg.max_quarantine_rate
    )
    findings += [q_finding] if q_finding else []
    findings += [s.finding() for s in signals]
    gate = gates.decide(findings, q_reason)
    counts = {
        "records_in": records,
        "valid": splits["tasks"].valid_rows + splits["events"].valid_rows,
        "quarantined": quarantined,
        "parse_quarantined": len(parse_q),
        **{f"{n}_{k}": v for n in TABLES for k, v in splits[n].counts.items()},
        "signals": len(signals),
    }
    return Assessment(
        outcomes=outcomes,
        splits=splits,
        parse_quarantine=parse_q,
        metrics=metrics,
        signals=signals,
        findings=findings,
        gate=gate,
        status=gates.run_status(gate, findings),
        counts=counts,
        quarantine_by_reason=by_reason,
        parameters=parameters,
        valid=spool,
        batches=batches,
    )


def summary(a: Assessment, period: Period, filters: dict[str, Any]) -> dict[str, Any]:
    failed = [
        {"name": o.spec.name, "table": t, "severity": o.spec.severity}
        for t, s in a.outcomes.items()
        for o in s.failed
    ]
    rate = a.counts["quarantined"] / a.counts["records_in"] if a.counts["records_in"] else 0.0
    return {
        "gate": {"status": a.gate.status, "reasons": a.gate.reasons},
        "counts": a.counts,
        "quarantine_rate": round(rate, 6),
        "quarantine_by_reason": a.quarantine_by_reason,
        "expectations": {
            t: {"evaluated": len(s.outcomes), "failed": len(s.failed), "success": s.success}
            for t, s in a.outcomes.items()
        },
        "failed_expectations": failed,
        "signals": [
            {
                "kind": s.kind,
                "user": s.user,
                "team": s.team,
                "day": s.day,
                "value": s.value,
                "baseline": s.baseline,
                "why": s.why,
            }
            for s in a.signals
        ],  # fmt: skip
        "health": a.metrics,
        "parameters": {k: v for k, v in a.parameters.items() if not k.endswith("_rows_max")}
        | {k: v for k, v in a.parameters.items() if k.endswith("_rows_max") and v != OPEN_MAX},
        "filters": filters,
        "days": [d.isoformat() for d in period_days(period)],
    }
