"""Cost recomputation against Roo Code's formulas (src/shared/cost.ts), hand-computed."""

from __future__ import annotations

import pytest
from budget_data import SONNET, request, requests_table

from tasks.budget.cost import api_protocol, recompute, request_cost, tokens_in_includes_cache
from tasks.budget.prices import Price, PriceTable

CLAUDE = Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)
GPT4O = Price(input=2.5, output=10.0, cache_write=0.0, cache_read=1.25)

# (price, protocol, app_version, tokens_in, tokens_out, cache_writes, cache_reads, expected USD)
CASES = [
    # Anthropic, >= 3.29.5: stored tokensIn includes cache -> uncached 15230-1200-13900 = 130.
    # 130*3 + 412*15 + 1200*3.75 + 13900*0.30 = 390 + 6180 + 4500 + 4170 = 15240 -> $0.01524
    (CLAUDE, "anthropic", "3.30.0", 15230, 412, 1200, 13900, 0.01524),
    # Anthropic, < 3.29.5: stored tokensIn excludes cache -> 130 billed as is: same request.
    (CLAUDE, "anthropic", "3.28.0", 130, 412, 1200, 13900, 0.01524),
    # Same stored figures read with the old semantics: all 15230 are uncached input.
    # 15230*3 = 45690; + 6180 + 4500 + 4170 = 60540 -> $0.06054
    (CLAUDE, "anthropic", "3.28.0", 15230, 412, 1200, 13900, 0.06054),
    # The boundary: 3.29.5 includes cache, 3.29.4 does not.
    (CLAUDE, "anthropic", "3.29.5", 15230, 412, 1200, 13900, 0.01524),
    (CLAUDE, "anthropic", "3.29.4", 15230, 412, 1200, 13900, 0.06054),
    # OpenAI includes cache tokens in every version: uncached 10000-8000 = 2000.
    # 2000*2.5 + 500*10 + 8000*1.25 = 5000 + 5000 + 10000 = 20000 -> $0.02
    (GPT4O, "openai", "3.20.0", 10000, 500, 0, 8000, 0.02),
    (GPT4O, "openai", "3.40.0", 10000, 500, 0, 8000, 0.02),
    # OpenAI with cache writes, priced with Claude's table (e.g. OpenRouter Claude):
    # uncached 10000-1000-4000 = 5000 -> 15000 + 200*15=3000 + 3750 + 1200 = 22950
    (CLAUDE, "openai", "3.40.0", 10000, 200, 1000, 4000, 0.02295),
    # More cache than input never bills negative input: max(0, ...).
    (GPT4O, "openai", "3.40.0", 1000, 0, 0, 5000, 0.00625),
    # No cache at all, no version: 1M in, 1M out -> $3 + $15.
    (CLAUDE, "anthropic", None, 1_000_000, 1_000_000, 0, 0, 18.0),
]


@pytest.mark.parametrize("price,protocol,version,tin,tout,cw,cr,expected", CASES)
def test_request_cost_matches_roo_formula(price, protocol, version, tin, tout, cw, cr, expected):
    assert request_cost(price, protocol, tin, tout, cw, cr, version) == pytest.approx(
        expected, abs=1e-12
    )


def test_vectorised_recompute_agrees_with_scalar_reference():
    override = [{"model": "m-claude", "input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.3},
                {"model": "m-gpt", "input": 2.5, "output": 10.0, "cache_read": 1.25}]  # fmt: skip
    prices = PriceTable(override)
    rows = []
    for price, protocol, version, tin, tout, cw, cr, _ in CASES:
        model = "m-claude" if price is CLAUDE else "m-gpt"
        rows.append(request(provider="custom", model=model, api_protocol=protocol, app_version=version,
                            tokens_in=tin, tokens_out=tout, cache_writes=cw, cache_reads=cr))  # fmt: skip
    out = recompute(requests_table(rows), prices)
    got = out["recomputed_cost"].to_pylist()
    assert got == pytest.approx([c[-1] for c in CASES], abs=1e-12)
    assert out["priced"].to_pylist() == [True] * len(CASES)


def test_reported_cost_wins_and_unpriced_models_are_flagged():
    prices = PriceTable()
    t = requests_table([
        request(cost=0.5, tokens_in=1000, tokens_out=0),  # provider-reported: kept as is
        request(cost=None, tokens_in=1_000_000, tokens_out=0),  # recomputed: $3
        request(cost=None, model="no-such-model-xyz", provider="nowhere"),
    ])  # fmt: skip
    out = recompute(t, prices)
    assert out["effective_cost"].to_pylist() == pytest.approx([0.5, 3.0, 0.0])
    assert out["recomputed_cost"].to_pylist()[:2] == pytest.approx([0.003, 3.0])
    assert out["recomputed_cost"].to_pylist()[2] is None
    assert out["priced"].to_pylist() == [True, True, False]


def test_protocol_inferred_like_roo_code_when_missing():
    assert api_protocol("anthropic", "claude-x") == "anthropic"
    assert api_protocol("bedrock", "anything") == "anthropic"
    assert api_protocol("vertex", "claude-sonnet-4") == "anthropic"
    assert api_protocol("vertex", "gemini-2.5-pro") == "openai"
    assert api_protocol("roo", "anthropic/claude-sonnet-4") == "anthropic"
    assert api_protocol("openrouter", "anthropic/claude-sonnet-4") == "openai"
    # a null api_protocol column falls back to the inference
    t = requests_table([request(api_protocol=None, provider="bedrock", app_version="3.20.0",
                                tokens_in=100, tokens_out=0, cache_reads=1000)])  # fmt: skip
    out = recompute(t, PriceTable([{"model": SONNET, "input": 3, "output": 15, "cache_read": 0.3}]))
    assert out["protocol"].to_pylist() == ["anthropic"]
    assert out["recomputed_cost"].to_pylist() == pytest.approx([(100 * 3 + 1000 * 0.3) / 1e6])


def test_token_semantics_by_version():
    assert tokens_in_includes_cache("openai", "1.0.0")
    assert not tokens_in_includes_cache("anthropic", "3.29.4")
    assert tokens_in_includes_cache("anthropic", "v3.29.5")
    assert tokens_in_includes_cache("anthropic", "3.52.1")
    assert tokens_in_includes_cache("anthropic", None)  # unknown: current semantics


def test_price_table_genai_prices_and_override():
    table = PriceTable()
    p = table.lookup("anthropic", SONNET)
    assert (p.input, p.output, p.cache_write, p.cache_read) == (3.0, 15.0, 3.75, 0.3)
    assert p.source == "genai-prices"
    assert table.lookup("openai", "gpt-4o").input == 2.5
    assert table.lookup("nowhere", "no-such-model-xyz") is None
    assert table.version.startswith("genai-prices 0.2.3 data sha256:")
    neg = PriceTable([{"provider": "anthropic", "model": SONNET, "input": 2.0, "output": 10.0}])
    q = neg.lookup("anthropic", SONNET)
    assert (q.input, q.output, q.cache_write, q.source) == (2.0, 10.0, 0.0, "override")
    assert neg.lookup("bedrock", SONNET).source == "genai-prices"  # provider-specific override


def test_ingestions_cache_verdict_wins_for_unnamed_requests():
    """A request naming no protocol, whose task showed tokensIn < cw + cr: ingestion marks
    tokens_in_includes_cache False and the recomputation bills tokensIn as uncached."""
    prices = PriceTable([{"model": "m", "input": 3.0, "output": 15.0, "cache_write": 3.75,
                          "cache_read": 0.3}])  # fmt: skip
    rows = [request(provider="custom", model="m", api_protocol=None, app_version=None,
                    tokens_in=130, tokens_out=412, cache_writes=1200, cache_reads=13900,
                    tokens_in_includes_cache=flag) for flag in (False, None)]  # fmt: skip
    got = recompute(requests_table(rows), prices)["recomputed_cost"].to_pylist()
    # excluded: 130*3 + 412*15 + 1200*3.75 + 13900*0.3 = 15240 -> $0.01524;
    # unknown (openai default): uncached max(0, 130-15100) = 0 -> 14850 -> $0.01485
    assert got == pytest.approx([0.01524, 0.01485], abs=1e-12)
