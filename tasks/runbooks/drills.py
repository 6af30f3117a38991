"""Runbook drills as signed evidence, and the finding for a runbook not drilled lately.

`compliance runbook drill ID --by USER --result pass|fail [--notes TEXT]` publishes one bundle
under reports/runbook-drill/… through the evidence writer (the `compliance evidence publish`
path): drill.json (who, when, the result, the runbook's steps and the digest of the runbook
file drilled) and the common report.json. Notes are redacted before they are signed: a drill
note must not become a locked copy of a secret.

A runbook without a passing drill in `max_age_days` (90) is a `runbook.not_drilled` finding;
only bundles that verify against the trusted keys count.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from tasks.common.errors import InputError
from tasks.common.models import Finding, FindingStatus, Period, Severity
from tasks.runbooks.catalog import RUNBOOKS_DIR, Runbook

DRILL_JOB = "runbook-drill"
MAX_AGE_DAYS = 90
USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
MAX_NOTES = 2000


def _redact(text: str) -> str:
    from tasks.retention.engine import thread_redactor

    # a fresh key: the marker must not let anyone link or brute-force the secret
    return thread_redactor(None, key=os.urandom(32)).redact_text(text.encode()).decode()


def drill_record(
    book: Runbook, by: str, result: str, notes: str | None, now: datetime
) -> dict[str, Any]:
    if not USER_RE.match(by or ""):
        raise InputError(f"--by {by!r}: not a user name (letters, digits, . _ @ + -)")
    if result not in ("pass", "fail"):
        raise InputError(f"--result {result!r}: must be pass or fail")
    if notes and len(notes) > MAX_NOTES:
        raise InputError(f"--notes: longer than {MAX_NOTES} characters")
    source = RUNBOOKS_DIR / f"{book.id}.md"
    digest = hashlib.sha256(source.read_bytes()).hexdigest() if source.is_file() else None
    return {
        "runbook": book.id,
        "title": book.title,
        "owner": book.owner,
        "triggers": book.triggers,
        "steps": book.steps,
        "runbook_sha256": digest,
        "by": by,
        "result": result,
        "notes": _redact(notes) if notes else None,
        "drilled_at": now.isoformat(),
    }


def drill_files(
    record: dict[str, Any], run_id: str, now: datetime
) -> tuple[dict[str, bytes], Period]:
    from tasks.reports import build_report, report_json_bytes

    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period = Period(start=day, end=day + timedelta(days=1))
    finding = Finding.make(
        "runbook.drill",
        Severity.info if record["result"] == "pass" else Severity.medium,
        FindingStatus.passed if record["result"] == "pass" else FindingStatus.fail,
        f"runbook/{record['runbook']}",
        f"runbook {record['runbook']} drilled by {record['by']}: {record['result']}",
        by=record["by"],
        drilled_at=record["drilled_at"],
    )
    summary = {k: record[k] for k in ("runbook", "title", "by", "result", "drilled_at")}
    report = build_report(DRILL_JOB, run_id, period, now, record["result"], summary, [finding])
    files = {
        "drill.json": (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(),
        "report.json": report_json_bytes(report),
    }
    return files, period


def publish_drill(
    client: Any,
    bucket: str,
    signer: Any,
    book: Runbook,
    by: str,
    result: str,
    notes: str | None,
    retention_days: int,
    now: datetime | None = None,
    trust: Any = None,
) -> Any:
    """Sign and publish one drill; returns the PublishedBundle. `trust`: besides the signer's
    own key, whose drill bundles the chain may link to (tasks.evidence.trust.job_trust)."""
    from tasks.common.ids import new_run_id
    from tasks.evidence import publish_bundle

    now = now or datetime.now(UTC)
    record = drill_record(book, by, result, notes, now)
    run_id = new_run_id(now)
    files, period = drill_files(record, run_id, now)
    return publish_bundle(
        client, bucket, DRILL_JOB, files, signer=signer, period=period, status=result,
        counts={"drills": 1, "failed": int(result == "fail")}, retention_days=retention_days,
        run_id=run_id, generated_at=now, trust=trust,
    )  # fmt: skip


def load_drills(
    client: Any, bucket: str, trusted: Any = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Drill records of bundles that verify under `trusted` (Anchors, or (name, PEM) pairs);
    and one line per bundle that does not."""
    from tasks.common.storage import S3Store
    from tasks.evidence.bundles import iter_bundles
    from tasks.evidence.trust import Anchors, resolve_trust
    from tasks.evidence.verify import verify_bundle

    store = S3Store(client, bucket)
    anchors = trusted if isinstance(trusted, Anchors) else Anchors(pems=tuple(trusted or ()))
    trust, _ = resolve_trust(store, anchors)
    drills, problems = [], []
    for ref in iter_bundles(client, bucket, job=DRILL_JOB):
        uri = ref.envelope_uri(bucket)
        info, failures = verify_bundle(store, ref.prefix, trust)
        if failures:
            problems.append(f"{uri}: does not verify ({failures[0].check}), not counted")
            continue
        try:
            record = json.loads(store.read(ref.prefix + "drill.json") or b"")
            datetime.fromisoformat(record["drilled_at"])
        except (ValueError, KeyError, TypeError):
            problems.append(f"{uri}: drill.json unreadable, not counted")
            continue
        drills.append(record | {"bundle": uri, "sha256": info.digest, "run_id": ref.run_id})
    return drills, problems


def undrilled(
    books: dict[str, Runbook],
    drills: list[dict[str, Any]],
    now: datetime,
    max_age_days: int = MAX_AGE_DAYS,
) -> list[Finding]:
    """One finding per runbook without a passing drill in the last `max_age_days`."""
    cutoff = now - timedelta(days=max_age_days)
    findings = []
    for book in books.values():
        mine = sorted(
            (d for d in drills if d.get("runbook") == book.id),
            key=lambda d: d["drilled_at"],
        )
        passed = [d for d in mine if d.get("result") == "pass"]
        last_pass = datetime.fromisoformat(passed[-1]["drilled_at"]) if passed else None
        if last_pass and last_pass >= cutoff:
            continue
        last = mine[-1] if mine else None
        if last_pass is None and last is None:
            why = f"runbook {book.id} has never been drilled"
        elif last_pass is None:
            why = f"runbook {book.id} has no passing drill (last: {last['result']} on {last['drilled_at'][:10]})"
        else:
            why = f"runbook {book.id} last passed a drill on {last_pass:%Y-%m-%d}, over {max_age_days} days ago"
        findings.append(
            Finding.make(
                "runbook.not_drilled", Severity.medium, FindingStatus.fail, f"runbook/{book.id}",
                why, owner=book.owner, last_drill=last and last["drilled_at"],
                last_result=last and last["result"], last_bundle=last and last.get("bundle"),
                last_pass=last_pass and last_pass.isoformat(), max_age_days=max_age_days,
            )
        )  # fmt: skip
    return findings
