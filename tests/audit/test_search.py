"""Search over ledger entries (the plain function the CLI calls)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tasks.audit.ledger import build_ledger
from tasks.audit.search import Query, search, search_ledgers
from tasks.common.errors import InputError
from tests.command_redactors import hmac_redactor


@pytest.fixture
def entries(sample_table):
    return build_ledger(
        sample_table, edit_modes={"code", "debug"}, redact_command=lambda c: c
    ).entries


def ids(found):
    return [(e["task_id"], e["kind"]) for e in found]


def test_by_user(entries):
    assert ids(search(entries, Query(user="bob"))) == [("t2", "command"), ("t2", "mode_switch")]


def test_by_path_glob(entries):
    assert [e["path"] for e in search(entries, Query(path_glob="src/*.py"))] == ["src/a.py"]
    assert [e["path"] for e in search(entries, Query(path_glob="../*"))] == ["../other/x.py"]
    assert list(search(entries, Query(path_glob="SRC/*"))) == []  # case-sensitive


def test_by_command_regex(entries):
    assert [e["command"] for e in search(entries, Query(command_regex=r"push\s+origin"))] == [
        "git push origin main"
    ]
    with pytest.raises(InputError, match="--command: not a valid regex"):
        list(search(entries, Query(command_regex="(")))


def test_by_time_half_open(entries):
    since = datetime(2026, 11, 20, 0, 0, 30, tzinfo=UTC)
    until = datetime(2026, 11, 20, 0, 1, 10, tzinfo=UTC)  # the rollback at +70 s is excluded
    found = search(entries, Query(since=since, until=until))
    assert ids(found) == [
        ("t1", "command"),
        ("t1", "mcp_call"),
        ("t1", "mode_switch"),
        ("t1", "file_write"),
    ]


def test_criteria_are_anded_and_results_carry_their_bundle(entries):
    q = Query(user="ann", path_glob="src/*")
    out = search_ledgers([("s3://r/b1", entries), ("s3://r/b2", [])], q)
    assert [(e["path"], e["bundle"]) for e in out] == [("src/a.py", "s3://r/b1")]
    assert search_ledgers([("s3://r/b1", entries)], Query(user="bob", path_glob="src/*")) == []


def test_hmac_command_still_found_by_first_word(sample_table):
    entries = build_ledger(
        sample_table, edit_modes={"code"}, redact_command=hmac_redactor(b"k")
    ).entries
    assert ids(search(entries, Query(command_regex=r"^git\b"))) == [("t1", "command")]


def test_line_prefilter_never_drops_a_match(sample_table):
    from tasks.audit.ledger import iter_ledger, ledger_jsonl_gz
    from tests.audit.conftest import table, ui

    odd = [ui(9, 99, user='zoë "q"', task_id="t9", kind="tool", tool="appliedDiff", path="src/ü.py", mutates=True)]  # fmt: skip
    rows = sample_table.to_pylist() + odd
    entries = build_ledger(
        table(rows), edit_modes={"code", "debug"}, redact_command=lambda c: c
    ).entries
    gz = ledger_jsonl_gz(entries)
    queries = [
        Query(user="ann"),
        Query(user='zoë "q"'),
        Query(path_glob="src/*"),
        Query(command_regex="git"),
        Query(user="bob", command_regex="."),
        Query(),
    ]
    for q in queries:
        plain = list(search(entries, q))
        assert list(search(iter_ledger(gz, keep=q.line_filter()), q)) == plain, q
    assert [
        e["path"] for e in search(iter_ledger(gz, keep=queries[1].line_filter()), queries[1])
    ] == ["src/ü.py"]
