"""The rerun comparison out of core: entry ids compared by DuckDB over the two gzip
ledgers on disk, exactly the set difference, without the ids ever becoming Python objects."""

from __future__ import annotations

import gzip
import hashlib
import tracemalloc
from datetime import date

import orjson

from tasks.audit.bundles import LedgerBundle
from tasks.audit.rerun import MAX_IDS, Previous, compare_previous, entry_diff
from tasks.common.storage import SpooledFile

DAY = date(2026, 11, 20)


def ledger(ids: list[str]) -> SpooledFile:
    f, out = SpooledFile.create(".jsonl.gz")
    with out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        for i, e in enumerate(ids):
            gz.write(orjson.dumps({"entry_id": e, "seq": i, "kind": "file_write"}) + b"\n")
    return f


def eid(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def test_entry_diff_is_the_set_difference_and_holds_no_ids():
    old_ids = [eid(i) for i in range(0, 100_000)]
    new_ids = [eid(i) for i in range(1_000, 101_500)]  # 1,000 removed, 1,500 added
    old, new = ledger(old_ids), ledger(new_ids)
    tracemalloc.start()
    try:
        diff = entry_diff(old, new)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    added, removed = set(new_ids) - set(old_ids), set(old_ids) - set(new_ids)
    assert (diff.added, diff.removed) == (1_500, 1_000)
    assert diff.added_ids == sorted(added)[:MAX_IDS]
    assert diff.removed_ids == sorted(removed)[:MAX_IDS]
    # the sets of ids the comparison used to build peaked at 96 MB for 300,000 (measured;
    # linear in the entries); now only the samples become Python objects
    assert peak < 4 * 1024 * 1024, f"{peak / 1e6:.1f} MB"


def test_changed_ledger_is_a_finding_naming_both_sides():
    old, new = ledger([eid(1), eid(2)]), ledger([eid(2), eid(3), eid(4)])
    last = LedgerBundle("b", "reports/audit-trail/x/attestation.dsse.json", "r", DAY,
                        old.sha256(), "2026-11-21T06:00:00Z")  # fmt: skip
    info, [f] = compare_previous(DAY, new.sha256(), new, Previous([last], [], old))
    assert info["identical"] is False and f.check == "audit.ledger_changed"
    assert (f.details["added"], f.details["removed"]) == (2, 1)
    assert f.details["removed_ids"] == [eid(1)]


def test_previous_ledger_that_is_not_json_lines_is_an_error_finding():
    bad, out = SpooledFile.create(".jsonl.gz")
    with out:
        out.write(gzip.compress(b'{"entry_id": "a"}\nnot json\n'))
    new = ledger([eid(1)])
    last = LedgerBundle("b", "reports/audit-trail/x/attestation.dsse.json", "r", DAY,
                        bad.sha256(), "2026-11-21T06:00:00Z")  # fmt: skip
    info, [f] = compare_previous(DAY, new.sha256(), new, Previous([last], [], bad))
    assert info["identical"] is None and f.check == "audit.previous_bundle_invalid"
    assert "\n" not in f.message
