"""Model prices: the pinned genai-prices table, with a config override table on top.

Prices are USD per million tokens (input, output, cache write, cache read), the unit Roo
Code's cost formulas use. Overrides (config `budget.prices`) win over the table, for
private or negotiated prices.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

# Roo Code provider names -> genai-prices provider ids (None: let genai-prices guess by model).
PROVIDER_ALIASES: dict[str, str | None] = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openai-native": "openai",
    "bedrock": "aws",
    "vertex": None,  # Claude or Gemini behind Vertex: match on the model name
    "gemini": "google",
    "deepseek": "deepseek",
    "mistral": "mistral",
    "xai": "x-ai",
    "groq": "groq",
    "openrouter": "openrouter",
    "fireworks": "fireworks",
    "together": "together",
    "cerebras": "cerebras",
    "minimax": "minimax",
    "moonshot": "moonshotai",
    "zai": "zai",
}


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float = 0.0
    cache_read: float = 0.0
    source: str = "genai-prices"


def _base(value: Any) -> float:
    # Tiered prices ("cliff" above e.g. 200k input tokens): Roo Code's stored model info
    # carries the base price for ordinary requests, so we do too.
    if value is None:
        return 0.0
    if isinstance(value, Decimal):
        return float(value)
    base = getattr(value, "base", None)
    return float(base) if base is not None else float(value)


@cache
def canonical_model(model: str | None) -> str | None:
    """One name per model for reports: the price table's id where it knows the model
    (`anthropic/claude-sonnet-4.5` and `claude-sonnet-4-5-20250929` are both
    `claude-sonnet-4-5`), else the name as given. Data files keep the name as recorded."""
    if not model:
        return model
    from genai_prices import data_snapshot

    snap = data_snapshot.get_snapshot()
    bare = model.split("/", 1)[1] if "/" in model else model  # behind a gateway
    for ref in (model, bare):
        try:
            _, info = snap.find_provider_model(ref.lower(), None, None, None)
        except LookupError:
            continue
        return str(info.id)
    return model


@cache
def table_version() -> str:
    """genai-prices version plus a digest of its bundled data (the pinned table)."""
    import genai_prices

    data = Path(genai_prices.__file__).with_name("data.py").read_bytes()
    return f"genai-prices {dist_version('genai_prices')} data sha256:{hashlib.sha256(data).hexdigest()[:12]}"


class PriceTable:
    """Looks up a Price for (provider, model); overrides first, then genai-prices."""

    def __init__(self, overrides: list[dict[str, Any]] | None = None, at: datetime | None = None):
        self.at = at or datetime.now(UTC)
        self._overrides: dict[tuple[str | None, str], Price] = {}
        for o in overrides or []:
            key = ((o.get("provider") or None), str(o["model"]).lower())
            self._overrides[key] = Price(
                float(o["input"]),
                float(o["output"]),
                float(o.get("cache_write") or 0.0),
                float(o.get("cache_read") or 0.0),
                source="override",
            )
        self._cache: dict[tuple[str | None, str | None], Price | None] = {}
        self.version = table_version()

    def overrides(self) -> dict[tuple[str | None, str], Price]:
        return dict(self._overrides)

    def pin(self, provider: str | None, model: str, price: Price) -> None:
        """Make (provider, model) resolve to `price` (a model inferred from costs is
        named by the table's own provider and model ids)."""
        self._cache[(provider, model)] = price

    def lookup(self, provider: str | None, model: str | None) -> Price | None:
        key = (provider, model)
        if key not in self._cache:
            self._cache[key] = self._lookup(provider, model)
        return self._cache[key]

    def _lookup(self, provider: str | None, model: str | None) -> Price | None:
        if not model:
            return None
        m = model.lower()
        for k in ((provider, m), (None, m)):
            if k in self._overrides:
                return self._overrides[k]
        from genai_prices import data_snapshot

        snap = data_snapshot.get_snapshot()
        pid = PROVIDER_ALIASES.get((provider or "").lower())
        attempts: list[tuple[str, str | None]] = [(m, pid)]
        if pid is not None:
            attempts.append((m, None))
        if "/" in m:  # e.g. anthropic/claude-sonnet-4 behind a gateway
            attempts.append((m.split("/", 1)[1], None))
        for ref, p in attempts:
            try:
                _, info = snap.find_provider_model(ref, None, p, None)
            except LookupError:
                continue
            mp = info.get_prices(self.at)
            return Price(
                _base(mp.input_mtok),
                _base(mp.output_mtok),
                _base(mp.cache_write_mtok),
                _base(mp.cache_read_mtok),
                source="genai-prices",
            )
        return None
