"""A second run for a day that already has a ledger bundle: the earlier one is verified,
then the ledgers are either identical (same digest, said in the summary) or compared
entry id by entry id — out of core, by DuckDB over the two gzip files on disk — and the
difference recorded as a finding, never a silent second truth."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import duckdb

from tasks.audit.bundles import LedgerBundle, Verifier, download_ledger, list_ledger_bundles
from tasks.audit.stream import connect
from tasks.common.models import Finding, FindingStatus, Severity
from tasks.common.storage import SpooledFile

MAX_IDS = 50  # entry ids named in the finding, of each side
_IDS = "read_json(?, format='newline_delimited', columns={'entry_id': 'VARCHAR'}, compression='gzip')"  # fmt: skip


@dataclass
class Previous:
    """The day's earlier ledger bundles, what the verifier says of the last, and its ledger
    (a temporary file) when it verifies and differs from this run's."""

    bundles: list[LedgerBundle]
    problems: list[str] = field(default_factory=list)
    ledger: SpooledFile | None = None


def read_previous(
    client: Any, reports_bucket: str, day: date, verify: Verifier, new_sha256: str
) -> Previous:
    """The earlier bundles; the last one's ledger is downloaded (streamed, digest checked)
    only when it verifies and its digest is not this run's."""
    bundles, _broken = list_ledger_bundles(client, reports_bucket, [day])
    if not bundles:
        return Previous([])
    last = bundles[-1]
    problems = verify(client, last)
    if problems or last.ledger_sha256 == new_sha256:
        return Previous(bundles, problems)
    try:
        return Previous(bundles, [], download_ledger(client, last))
    except ValueError as exc:  # the bytes are not those the statement signed
        return Previous(bundles, [str(exc)])


@dataclass(frozen=True)
class EntryDiff:
    added: int
    removed: int
    added_ids: list[str]  # the first MAX_IDS, sorted
    removed_ids: list[str]


def entry_diff(old: SpooledFile, new: SpooledFile) -> EntryDiff:
    """Entry ids in one ledger and not the other, by DuckDB over the gzip files (a day's
    ledger holds each id once); memory bounded by stream.connect's limit."""
    with tempfile.TemporaryDirectory(prefix="audit-rerun-") as tmp:
        con = connect(tmp)
        try:
            con.execute(f"CREATE TABLE old AS SELECT entry_id FROM {_IDS}", [old.path]).fetchall()
            con.execute(f"CREATE TABLE new AS SELECT entry_id FROM {_IDS}", [new.path]).fetchall()
            sides = {}
            for name, a, b in (("added", "new", "old"), ("removed", "old", "new")):
                only = f"SELECT entry_id FROM {a} ANTI JOIN {b} USING (entry_id)"
                count = con.execute(f"SELECT count(*) FROM ({only})").fetchall()[0][0]
                first = con.execute(f"{only} ORDER BY entry_id LIMIT {MAX_IDS}").fetchall()
                sides[name] = (int(count), [str(r[0]) for r in first])
        finally:
            con.close()
    return EntryDiff(sides["added"][0], sides["removed"][0], sides["added"][1], sides["removed"][1])


def _invalid(last: LedgerBundle, message: str, problems: list[str]) -> Finding:
    """The earlier bundle cannot be compared with: an error finding, never a silent pass."""
    return Finding.make("audit.previous_bundle_invalid", Severity.high, FindingStatus.error,
                        last.uri, message, problems=problems)  # fmt: skip


def compare_previous(
    day: date, new_sha: str, new_ledger: SpooledFile, prev: Previous
) -> tuple[dict[str, Any], list[Finding]]:
    """A second run for a day: identical ledger (said in the summary) or a finding."""
    previous = prev.bundles
    if not previous:
        return {"previous_bundles": 0}, []
    last = previous[-1]
    info: dict[str, Any] = {
        "previous_bundles": len(previous),
        "previous_bundle": last.uri,
        "previous_ledger_sha256": last.ledger_sha256,
    }
    problems = prev.problems
    if problems:
        info["identical"] = None
        return info, [
            _invalid(
                last,
                f"the previous ledger bundle for {day} does not verify: {problems[0]}",
                problems[:5],
            )
        ]
    info["identical"] = last.ledger_sha256 == new_sha
    if info["identical"]:
        return info, []
    if prev.ledger is None:
        raise ValueError(f"{last.uri}: the previous ledger was not read (read_previous)")
    try:
        diff = entry_diff(prev.ledger, new_ledger)
    except duckdb.Error as exc:  # signed and digest-checked, yet not JSON lines
        info["identical"] = None
        reason = str(exc).splitlines()[0][:200]
        return info, [
            _invalid(last, f"the previous ledger for {day} cannot be read: {reason}", [reason])
        ]
    return info, [
        Finding.make(
            "audit.ledger_changed",
            Severity.high,
            FindingStatus.fail,
            f"ledger {day.isoformat()}",
            f"this run's ledger for {day} differs from {last.uri}: {diff.added} entries added, {diff.removed} removed",
            previous_bundle=last.uri,
            previous_sha256=last.ledger_sha256,
            new_sha256=new_sha,
            added=diff.added,
            removed=diff.removed,
            added_ids=diff.added_ids,
            removed_ids=diff.removed_ids,
        )
    ]
