"""Published Cline task files (figures only; see corpus/real/PROVENANCE.md) against a
small re-implementation of the webview's arithmetic written here, independently of the
product (it imports nothing from tasks/).

The webview: getApiMetrics(combineApiRequests(combineCommandSequences(messages.slice(1)))):
sums of the api_req_started figures that are numbers, legacy api_req_finished merged into
the open request before it, condense costs added; context = the last request's in + out.
Where no request names its protocol and the figures show tokensIn < cacheWrites +
cacheReads, the input excludes cache, and the context is in + out + cacheWrites +
cacheReads of the last request (what Cline itself shows).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.telemetry.ingest import ingest

CORPUS = Path(__file__).parent / "corpus" / "real"
TASKS = sorted(p.name for p in (CORPUS / "tasks").iterdir() if p.is_dir())


def _num(v):
    return v if isinstance(v, int | float) and not isinstance(v, bool) and v == v else None


def webview(messages: list[dict]) -> dict:
    reqs: list[dict] = []  # parsed api_req_started texts, after merging finished ones
    open_reqs: list[int] = []
    condense_cost = 0.0
    order: list[tuple[str, object]] = []
    for m in messages[1:]:
        if m.get("type") != "say":
            continue
        kind = m.get("say")
        if kind == "api_req_started":
            try:
                data = json.loads(m["text"]) if m.get("text") else None
            except ValueError:
                data = None
            reqs.append(data if isinstance(data, dict) else None)
            open_reqs.append(len(reqs) - 1)
            order.append(("req", len(reqs) - 1))
        elif kind == "api_req_finished" and open_reqs:
            i = open_reqs.pop()
            try:
                extra = json.loads(m.get("text") or "{}")
            except ValueError:
                extra = {}
            reqs[i] = {**(reqs[i] or {}), **(extra if isinstance(extra, dict) else {})}
        elif kind == "condense_context":
            cc = m.get("contextCondense") or {}
            condense_cost += _num(cc.get("cost")) or 0.0
            order.append(("condense", cc))
    total = {"in": 0, "out": 0, "cw": None, "cr": None, "cost": condense_cost}
    for r in filter(None, reqs):
        total["in"] += _num(r.get("tokensIn")) or 0
        total["out"] += _num(r.get("tokensOut")) or 0
        for key, field in (("cw", "cacheWrites"), ("cr", "cacheReads")):
            if _num(r.get(field)) is not None:
                total[key] = (total[key] or 0) + r[field]
        total["cost"] += _num(r.get("cost")) or 0.0
    unnamed = [r for r in filter(None, reqs) if not isinstance(r.get("apiProtocol"), str)]
    excludes = any(
        _num(r.get("tokensIn")) is not None
        and r["tokensIn"] < (_num(r.get("cacheWrites")) or 0) + (_num(r.get("cacheReads")) or 0)
        for r in unnamed
    )
    context = 0
    for kind, ref in reversed(order):
        if kind == "req":
            r = reqs[ref]
            if r is None:
                continue
            context = (_num(r.get("tokensIn")) or 0) + (_num(r.get("tokensOut")) or 0)
            if excludes and not isinstance(r.get("apiProtocol"), str):
                context += (_num(r.get("cacheWrites")) or 0) + (_num(r.get("cacheReads")) or 0)
        else:
            context = _num(ref.get("newContextTokens")) or 0
        if context:
            break
    total["context"] = context
    return total


@pytest.fixture(scope="module", params=[True, False], ids=["columnar", "rows"])
def ingested(request):
    result = ingest(str(CORPUS), columnar=request.param)
    return {r["task_id"]: r for r in result.tasks.to_pylist()}, result


def test_the_corpus_is_there():
    assert len(TASKS) == 4


@pytest.mark.parametrize("task_id", TASKS)
def test_every_total_matches_the_webview_arithmetic(ingested, task_id):
    rows, _ = ingested
    messages = json.loads((CORPUS / "tasks" / task_id / "ui_messages.json").read_text())
    want = webview(messages)
    row = rows[task_id]
    assert (row["tokens_in"], row["tokens_out"]) == (want["in"], want["out"])
    assert (row["cache_writes"], row["cache_reads"]) == (want["cw"], want["cr"])
    assert row["total_cost"] == pytest.approx(want["cost"], rel=1e-12, abs=1e-12)
    assert row["context_tokens"] == want["context"]
    assert row["agent"] == "cline" and row["token_rule"] == "inferred_excludes_cache"


def test_the_task_the_issue_read_by_hand(ingested):
    # CoreGems/Cline-Xray task_sample: the real context is 96,417 (Roo's rule gave 201)
    rows, result = ingested
    assert rows["1770577372307"]["context_tokens"] == 96_417
    assert result.counts["quarantined"] == 0
