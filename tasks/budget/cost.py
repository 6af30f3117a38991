"""Cost of an API request, following Roo Code's rules (src/shared/cost.ts).

- Anthropic protocol: the provider's input count excludes cache tokens.
- OpenAI protocol: input includes cache tokens; max(0, in - cw - cr) is billed as input.
- Since Roo Code v3.29.5 the *stored* tokensIn includes cache tokens for both protocols;
  before it, Anthropic tokensIn excluded them. So the uncached part is
  max(0, in - cw - cr) except for Anthropic requests recorded by versions < 3.29.5.
- A cost reported by the provider is stored as is and wins (effective cost).
- A request that names no protocol: ingestion's `tokens_in_includes_cache` (inferred from
  the task's figures, tasks/telemetry/consolidate.py) wins over the rules above.

`request_cost` is the scalar reference; `recompute` does the same over a pyarrow table.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

from tasks.budget.prices import Price, PriceTable

CACHE_INCLUDED_SINCE = (3, 29, 5)
ANTHROPIC_STYLE_PROVIDERS = {"anthropic", "claude-code", "bedrock", "minimax"}


def parse_version(value: str | None) -> tuple[int, ...] | None:
    if not value:
        return None
    m = re.match(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?", value)
    if not m:
        return None
    return tuple(int(g or 0) for g in m.groups())


def tokens_in_includes_cache(protocol: str, app_version: str | None) -> bool:
    """Whether stored tokensIn already counts cache writes and reads."""
    if protocol != "anthropic":
        return True
    v = parse_version(app_version)
    # Unknown version: assume the current semantics (Roo Code >= 3.29.5).
    return v is None or v >= CACHE_INCLUDED_SINCE


def api_protocol(provider: str | None, model: str | None) -> str:
    """Roo Code's getApiProtocol, for rows that do not carry apiProtocol."""
    p = (provider or "").lower()
    m = (model or "").lower()
    if p in ANTHROPIC_STYLE_PROVIDERS:
        return "anthropic"
    if p == "vertex" and "claude" in m:
        return "anthropic"
    if p in {"vercel-ai-gateway", "roo"} and m.startswith("anthropic/"):
        return "anthropic"
    return "openai"


def request_cost(
    price: Price,
    protocol: str,
    tokens_in: int,
    tokens_out: int,
    cache_writes: int = 0,
    cache_reads: int = 0,
    app_version: str | None = None,
) -> float:
    """USD cost of one request from stored Roo Code figures."""
    cw, cr = cache_writes or 0, cache_reads or 0
    if tokens_in_includes_cache(protocol, app_version):
        uncached = max(0, (tokens_in or 0) - cw - cr)
    else:
        uncached = tokens_in or 0
    return (
        uncached * price.input
        + (tokens_out or 0) * price.output
        + cw * price.cache_write
        + cr * price.cache_read
    ) / 1_000_000


def _codes(col: pa.ChunkedArray, fill: str | None = "") -> pa.DictionaryArray:
    """One dictionary array (nulls filled) whatever the input: strings or dictionaries."""
    if fill is not None:
        col = pc.fill_null(col, fill)
    if isinstance(col, pa.ChunkedArray):
        if pa.types.is_dictionary(col.type):
            col = col.unify_dictionaries()
        col = col.combine_chunks()
    return col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col)


def recompute(requests: pa.Table, prices: PriceTable) -> pa.Table:
    """Add `protocol`, `recomputed_cost`, `effective_cost`, `priced` and `uncached_in`
    (the input tokens billed at the input price) columns.

    Everything that depends only on (provider, model, apiProtocol, app version) -- the four
    prices and whether tokensIn includes cache tokens -- is resolved once per distinct
    combination in Python and gathered per row with `take`; the per-row work is a handful
    of vectorised arithmetic passes, so 10M rows stay fast.
    """
    parts = [_codes(requests["provider"]), _codes(requests["model"]),
             _codes(requests["api_protocol"]), _codes(requests["app_version"])]  # fmt: skip
    sizes = [len(p.dictionary) for p in parts]
    code = parts[0].indices.cast(pa.int64())
    for part, size in zip(parts[1:], sizes[1:], strict=True):
        code = pc.add(pc.multiply(code, size), part.indices.cast(pa.int64()))
    present = pc.unique(code).to_pylist()
    space = 1
    for size in sizes:
        space *= size
    if space <= 4_000_000:  # a dense lookup table: one `take` instead of hashing every row
        dense = [0] * space
        for i, c in enumerate(present):
            dense[c] = i
        slot = pc.take(pa.array(dense, pa.int32()), code)
    else:
        slot = pc.index_in(code, value_set=pa.array(present, pa.int64()))
    dicts = [p.dictionary.to_pylist() for p in parts]
    p_in, p_out, p_cw, p_cr, incl, proto = [], [], [], [], [], []
    for c in present:
        idx = []
        for size in reversed(sizes):
            c, r = divmod(c, size)
            idx.append(r)
        provider, model, stored, version = (d[i] for d, i in zip(dicts, reversed(idx), strict=True))
        protocol = stored or api_protocol(provider, model)
        f = prices.lookup(provider or None, model or None)
        p_in.append(f.input if f else None)
        p_out.append(f.output if f else None)
        p_cw.append(f.cache_write if f else None)
        p_cr.append(f.cache_read if f else None)
        incl.append(tokens_in_includes_cache(protocol, version or None))
        proto.append(0 if protocol == "anthropic" else 1)

    def gather(values: list, typ: pa.DataType) -> pa.Array:
        return pc.take(pa.array(values, typ), slot)

    pin, pout, pcw, pcr = (gather(v, pa.float64()) for v in (p_in, p_out, p_cw, p_cr))
    includes = gather(incl, pa.bool_())
    if "tokens_in_includes_cache" in requests.column_names:
        # ingestion's verdict from the figures (a request naming no protocol whose task
        # shows tokensIn < cacheWrites + cacheReads) wins over the version rule
        includes = pc.coalesce(requests["tokens_in_includes_cache"], includes)
    protocol_col = pa.DictionaryArray.from_arrays(
        gather(proto, pa.int8()), pa.array(["anthropic", "openai"])
    )

    def tok(name: str) -> pa.ChunkedArray:  # chunked as read: no copy to one buffer
        col = requests[name]
        return (pc.fill_null(col, 0) if col.null_count else col).cast(pa.float64())

    t_in, t_out, cw, cr = (
        tok(n) for n in ("tokens_in", "tokens_out", "cache_writes", "cache_reads")
    )
    uncached = pc.if_else(
        includes, pc.max_element_wise(pc.subtract(pc.subtract(t_in, cw), cr), 0.0), t_in
    )
    total = pc.add(
        pc.add(pc.multiply(uncached, pin), pc.multiply(t_out, pout)),
        pc.add(pc.multiply(cw, pcw), pc.multiply(cr, pcr)),
    )
    recomputed = pc.divide(total, 1_000_000.0)
    effective = pc.coalesce(requests["cost"], recomputed)
    protocol, p_in = protocol_col, pin
    out = requests
    for name, col in (
        ("protocol", protocol),
        ("recomputed_cost", recomputed),
        ("effective_cost", pc.fill_null(effective, 0.0)),
        ("priced", pc.is_valid(p_in)),
        ("uncached_in", uncached),
    ):
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(name, col)
    return out
