"""Task totals follow Roo Code's consolidation rules (consolidateApiRequests +
consolidateTokenUsage over messages.slice(1)); the streaming parser must agree with the
literal port in tasks.telemetry.consolidate."""

from __future__ import annotations

import pytest
from ingest_helpers import T0, ask, req, say, typical_task, write_task

from tasks.telemetry.consolidate import api_metrics, combine_api_requests
from tasks.telemetry.ingest import ingest


def _task_row(tmp_path, messages, **kw):
    write_task(tmp_path / "tasks", messages, **kw)
    result = ingest(str(tmp_path))
    assert result.tasks.num_rows == 1
    return result, result.tasks.to_pylist()[0]


def test_typical_task_totals_match_roo_code(tmp_path):
    msgs = typical_task()
    _, row = _task_row(tmp_path, msgs)
    ref = api_metrics(msgs)
    assert (
        (row["tokens_in"], row["tokens_out"])
        == (3000, 400)
        == (
            ref["totalTokensIn"],
            ref["totalTokensOut"],
        )
    )
    assert (row["cache_writes"], row["cache_reads"]) == (50, 1100)
    assert row["total_cost"] == pytest.approx(0.03)
    # context = tokensIn + tokensOut of the last request (tokensIn includes cache now)
    assert row["context_tokens"] == 2300 == ref["contextTokens"]
    assert row["api_requests"] == 2 and row["status"] == "completed"


def test_first_message_is_not_counted(tmp_path):
    # messages.slice(1): a request as the very first message is ignored by Roo Code
    msgs = [
        req(T0, tokensIn=500, tokensOut=5, cost=1.0),
        req(T0 + 1, tokensIn=7, tokensOut=3, cost=0.5),
    ]
    _, row = _task_row(tmp_path, msgs)
    assert row["tokens_in"] == 7 and row["total_cost"] == pytest.approx(0.5)


def test_legacy_api_req_finished_is_merged_into_the_preceding_request(tmp_path):
    msgs = [
        say(T0, "text", "old task"),
        say(T0 + 1, "api_req_started", {"request": "<task>old</task>"}),
        say(T0 + 2, "api_req_finished", {"tokensIn": 120, "tokensOut": 30, "cost": 0.004}),
        say(T0 + 3, "api_req_started", {"request": "again"}),
        say(T0 + 4, "api_req_started", {"request": "nested"}),
        # pops the most recent open start ("nested"), then the one before
        say(T0 + 5, "api_req_finished", {"tokensIn": 10, "tokensOut": 1, "cost": 0.001}),
        say(T0 + 6, "api_req_finished", {"tokensIn": 20, "tokensOut": 2, "cost": 0.002}),
        # no open start left: dropped, as Roo Code does
        say(T0 + 7, "api_req_finished", {"tokensIn": 999, "tokensOut": 999, "cost": 9.0}),
    ]
    result, row = _task_row(tmp_path, msgs)
    ref = api_metrics(msgs)
    assert row["tokens_in"] == 150 == ref["totalTokensIn"]
    assert row["tokens_out"] == 33 == ref["totalTokensOut"]
    assert row["total_cost"] == pytest.approx(0.007) == pytest.approx(ref["totalCost"])
    assert row["api_requests"] == 3
    # the merged figures sit on the started rows, none on the finished rows
    ev = {r["seq"]: r for r in result.events.to_pylist()}
    assert ev[1]["tokens_in"] == 120 and ev[1]["cost"] == pytest.approx(0.004)
    assert ev[4]["tokens_in"] == 10 and ev[3]["tokens_in"] == 20
    assert ev[2]["tokens_in"] is None
    # the literal port removes the finished messages
    assert [m["say"] for m in combine_api_requests(msgs[1:])].count("api_req_finished") == 0
    # a legacy layout: tokens_in is known to exclude cache for anthropic -> flagged
    assert row["tokens_in_includes_cache"] is None  # no protocol recorded


def test_condense_context_cost_counts_and_sets_context(tmp_path):
    msgs = [
        say(T0, "text", "long task"),
        req(T0 + 1, tokensIn=100_000, tokensOut=2000, cost=0.5),
        say(T0 + 2, "condense_context", partial=False,
            contextCondense={"cost": 0.07, "prevContextTokens": 102_000,
                             "newContextTokens": 9000, "summary": "..."}),
    ]  # fmt: skip
    result, row = _task_row(tmp_path, msgs)
    assert row["total_cost"] == pytest.approx(0.57)
    # walking back, the condense message comes first: its newContextTokens wins
    assert row["context_tokens"] == 9000 == api_metrics(msgs)["contextTokens"]
    condense = [r for r in result.events.to_pylist() if r["kind"] == "condense_context"][0]
    assert condense["category"] == "condense" and condense["cost"] == pytest.approx(0.07)


def test_context_skips_requests_without_figures(tmp_path):
    msgs = [
        say(T0, "text", "t"),
        req(T0 + 1, apiProtocol="openai", tokensIn=400, tokensOut=40, cost=0.1),
        req(T0 + 2, apiProtocol="openai"),  # still running: no figures
    ]
    _, row = _task_row(tmp_path, msgs)
    assert row["context_tokens"] == 440
    assert row["cache_writes"] is None and row["cache_reads"] is None  # undefined in Roo Code


def test_non_numbers_are_ignored_like_typeof_number(tmp_path):
    msgs = [say(T0, "text", "t"), req(T0 + 1, tokensIn="12", tokensOut=5, cost="0.3")]
    _, row = _task_row(tmp_path, msgs)
    assert row["tokens_in"] == 0 and row["tokens_out"] == 5 and row["total_cost"] == 0


def test_pre_3_29_5_anthropic_context_adds_cache(tmp_path):
    # `request` in api_req_started marks a pre-v3.28.18 file: tokensIn excluded cache
    msgs = [
        say(T0, "text", "t"),
        req(T0 + 1, request="hi", apiProtocol="anthropic", tokensIn=100, tokensOut=10,
            cacheWrites=1000, cacheReads=5000, cost=0.02),
    ]  # fmt: skip
    _, row = _task_row(tmp_path, msgs)
    assert row["tokens_in"] == 100  # the stored sum, unchanged
    assert row["context_tokens"] == 6110
    assert row["tokens_in_includes_cache"] is False


def test_modern_openai_semantics_flagged(tmp_path):
    msgs = [say(T0, "text", "t"), req(T0 + 1, apiProtocol="openai", tokensIn=10, tokensOut=1)]
    _, row = _task_row(tmp_path, msgs)
    assert row["tokens_in_includes_cache"] is True and row["api_protocol"] == "openai"


def test_ended_at_ignores_resume_asks(tmp_path):
    msgs = typical_task() + [ask(T0 + 10_000, "resume_completed_task")]
    _, row = _task_row(tmp_path, msgs)
    assert int(row["ended_at"].timestamp() * 1000) == T0 + 61
    assert int(row["started_at"].timestamp() * 1000) == T0


def _cline_like(t0=T0):
    """Figures as Cline (and old Roo) files carry them: no apiProtocol, and tokensIn
    visibly without the cache (a published task's last request had tokensIn 0)."""
    return [
        say(t0, "text", "t"),
        req(t0 + 1, tokensIn=4, tokensOut=120, cacheWrites=6000, cacheReads=80_000, cost=0.05),
        req(t0 + 2, tokensIn=0, tokensOut=201, cacheWrites=6744, cacheReads=89_472, cost=0.04),
    ]


@pytest.mark.parametrize("columnar", [True, False])
def test_unnamed_protocol_with_input_below_cache_counts_cache_in_context(tmp_path, columnar):
    write_task(tmp_path / "tasks", _cline_like())
    result = ingest(str(tmp_path), columnar=columnar)
    row = result.tasks.to_pylist()[0]
    # Roo's rule would say 0 + 201; the figures say the input left the cache out
    assert row["context_tokens"] == 0 + 201 + 6744 + 89_472
    assert row["token_rule"] == "inferred_excludes_cache"
    assert row["tokens_in_includes_cache"] is False
    # totals stay Roo's sums
    assert row["tokens_in"] == 4 and row["cache_reads"] == 169_472
    reqs = [r for r in result.events.to_pylist() if r["kind"] == "api_req_started"]
    assert [r["tokens_in_includes_cache"] for r in reqs] == [False, False]


@pytest.mark.parametrize("columnar", [True, False])
def test_unnamed_protocol_consistent_with_roo_keeps_roo_rule(tmp_path, columnar):
    msgs = [say(T0, "text", "t"), req(T0 + 1, tokensIn=9000, tokensOut=10, cacheReads=8000)]
    write_task(tmp_path / "tasks", msgs)
    row = ingest(str(tmp_path), columnar=columnar).tasks.to_pylist()[0]
    assert row["context_tokens"] == 9010 == api_metrics(msgs)["contextTokens"]
    assert row["token_rule"] == "inferred_includes_cache"


@pytest.mark.parametrize("columnar", [True, False])
def test_named_protocol_follows_roo_even_when_input_is_below_cache(tmp_path, columnar):
    # Roo Code's own figures (v3.29.5+): the rule is Roo's, whatever the numbers look like
    msgs = [
        say(T0, "text", "t"),
        req(T0 + 1, apiProtocol="anthropic", tokensIn=5, tokensOut=7, cacheReads=500),
    ]
    write_task(tmp_path / "tasks", msgs)
    row = ingest(str(tmp_path), columnar=columnar).tasks.to_pylist()[0]
    assert row["context_tokens"] == 12 == api_metrics(msgs)["contextTokens"]
    assert row["token_rule"] == "roo"
    assert row["tokens_in_includes_cache"] is None  # version unknown, as before
