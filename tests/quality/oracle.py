"""The in-memory telemetry-quality evaluation, kept as the tests' oracle: the period's
tables ingested whole, each suite validated on one frame, split, health computed on the
whole valid frames. The job (batched over its spool) must give byte-identical bundle
contents (tests/quality/test_bounded.py)."""

from __future__ import annotations

from typing import Any

from tasks.common.contract import JobResult
from tasks.common.models import Period
from tasks.common.periods import period_days
from tasks.quality import bundle
from tasks.quality import gate as gates
from tasks.quality.frames import join_team, to_frame
from tasks.quality.gx_runner import GxValidator
from tasks.quality.health import alert_signals, fleet_metrics
from tasks.quality.split import split_table
from tasks.quality.storage import filter_users, read_history, read_roster
from tasks.quality.suites import load_suites

TABLES = ("tasks", "events")


def _parse_quarantine(table) -> list[dict[str, Any]]:
    rows = table.to_pylist()
    for r in rows:
        r.setdefault("table", "raw")
        r["reasons"] = [r.get("reason")]
        r["day"] = None
    return rows


def in_memory_result(
    client: Any, bucket: str, period: Period, cfg: Any, team: str | None = None,
    user: str | None = None, validator: GxValidator | None = None,
) -> JobResult:  # fmt: skip
    from tasks.quality.assess import Assessment, expectation_parameters, summary
    from tasks.telemetry.ingest import ingest

    validator = validator or GxValidator()
    suites = load_suites(cfg.quality.suites_dir)
    roster, _ = read_roster(client, bucket)
    history = read_history(client, bucket)
    raw = ingest(f"s3://{bucket}/raw/", s3_client=client, period=period,
                 users=filter_users(roster, team, user))  # fmt: skip
    params = expectation_parameters(period, cfg.quality, history, filtered=bool(team or user))
    outcomes, splits, frames = {}, {}, {}
    for name in TABLES:
        table = join_team(getattr(raw, name), roster)
        frame = to_frame(table)
        outcomes[name] = validator.validate(suites[name], frame, params)
        splits[name] = split_table(table, frame, outcomes[name])
        frames[name] = frame
    if roster is not None and "roster" in suites:
        outcomes["roster"] = validator.validate(suites["roster"], roster, params)
    valid = {n: frames[n][splits[n].keep] for n in TABLES}
    metrics = fleet_metrics(valid["tasks"])
    signals = alert_signals(valid["events"], period_days(period), cfg.quality.signals)
    parse_q = _parse_quarantine(raw.quarantine)
    by_reason: dict[str, int] = {}
    for r in parse_q:
        by_reason[r["reason"]] = by_reason.get(r["reason"], 0) + 1
    for s in splits.values():
        for k, v in s.by_reason.items():
            by_reason[k] = by_reason.get(k, 0) + v
    records = int(raw.counts.get("records_in", 0)) + splits["tasks"].rows_in
    quarantined = len(parse_q) + sum(len(s.quarantine) for s in splits.values())
    findings = [f for o in outcomes.values() for f in gates.expectation_findings(o)]
    q_finding, q_reason = gates.quarantine_finding(
        quarantined, records, by_reason, cfg.quality.max_quarantine_rate
    )
    findings += [q_finding] if q_finding else []
    findings += [s.finding() for s in signals]
    gate = gates.decide(findings, q_reason)
    counts = {
        "records_in": records,
        "valid": int(splits["tasks"].keep.sum() + splits["events"].keep.sum()),
        "quarantined": quarantined,
        "parse_quarantined": len(parse_q),
        **{f"{n}_{k}": v for n in TABLES for k, v in splits[n].counts.items()},
        "signals": len(signals),
    }
    a = Assessment(outcomes=outcomes, splits=splits, parse_quarantine=parse_q, metrics=metrics,
                   signals=signals, findings=findings, gate=gate,
                   status=gates.run_status(gate, findings), counts=counts,
                   quarantine_by_reason=by_reason, parameters=params)  # fmt: skip
    charts, tables = bundle.charts_and_tables(a, history)
    filters = {"team": team, "user": user}
    return JobResult(findings, summary(a, period, filters), files=bundle.extra_files(a),
                     charts=charts, tables=tables, status=a.status, counts_extra=counts)  # fmt: skip


def contents(result: JobResult) -> dict[str, Any]:
    """What the bundle carries from a JobResult (report.json's findings and summary, the
    extra files, the charts and tables of report.html, the status and counts)."""
    return {
        "findings": [f.model_dump(mode="json") for f in result.findings],
        "summary": result.summary,
        "files": result.files,
        "charts": [(c.title, c.svg) for c in result.charts],
        "tables": [(t.title, t.columns, t.rows) for t in result.tables],
        "status": str(result.status),
        "counts": result.counts_extra,
    }
