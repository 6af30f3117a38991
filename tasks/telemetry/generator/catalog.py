"""Fixed vocabularies of the synthetic fleet: Roo Code versions, models and prices, people.

Prices are USD per million tokens (input, output, cache write, cache read) and match the
genai-prices table the cost-budget job pins (checked by a test), so that a recomputed
cost equals the stored one unless a drift incident was planted.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

# Versions in the fleet, oldest first. Layout switches (see roo-code-data.md):
#   < 3.12      legacy `api_req_finished` messages (our cut-off for "legacy")
#   < 3.28.18   api_req_started carries `request`
#   < 3.29.5    Anthropic-protocol tokensIn excludes cache tokens
#   < 3.41      UUIDv4 task ids (UUIDv7 after)
#   >= 3.49     history_item.json per task and tasks/_index.json
VERSIONS = (
    "3.11.14",
    "3.25.20",
    "3.28.16",
    "3.30.3",
    "3.38.3",
    "3.45.0",
    "3.49.2",
    "3.51.1",
    "3.52.0",
)
VERSION_WEIGHTS = (1, 1, 1, 2, 2, 2, 3, 4, 5)


def vt(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class VersionFlags:
    version: str

    @property
    def legacy_finished(self) -> bool:
        return vt(self.version) < (3, 12)

    @property
    def request_in_started(self) -> bool:
        return vt(self.version) < (3, 28, 18)

    @property
    def anthropic_in_excludes_cache(self) -> bool:
        return vt(self.version) < (3, 29, 5)

    @property
    def uuid7(self) -> bool:
        return vt(self.version) >= (3, 41)

    @property
    def history_files(self) -> bool:
        return vt(self.version) >= (3, 49)


@dataclass(frozen=True)
class Model:
    provider: str  # Roo Code apiProvider
    model_id: str
    input: float
    output: float
    cache_write: float
    cache_read: float
    reports_cost: bool = False  # the provider returns the cost (OpenRouter)

    @property
    def protocol(self) -> str:
        return "anthropic" if self.provider in ("anthropic", "bedrock") else "openai"

    @property
    def caches_writes(self) -> bool:
        return "claude" in self.model_id

    def formula_cost(self, uncached: int, out: int, cw: int, cr: int) -> float:
        """Roo Code's cost from the uncached input count (both protocols reduce to this)."""
        return (
            uncached * self.input + out * self.output + cw * self.cache_write + cr * self.cache_read
        ) / 1_000_000


MODELS: dict[str, Model] = {
    m.provider + ":" + m.model_id: m
    for m in (
        Model("anthropic", "claude-sonnet-4-5-20250929", 3.0, 15.0, 3.75, 0.30),
        Model("anthropic", "claude-haiku-4-5-20251001", 1.0, 5.0, 1.25, 0.10),
        Model("anthropic", "claude-opus-4-1-20250805", 15.0, 75.0, 18.75, 1.50),
        Model("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", 3.3, 16.5, 4.125, 0.33),
        Model("openrouter", "anthropic/claude-sonnet-4.5", 3.0, 15.0, 3.75, 0.30, True),
        Model("openrouter", "openai/gpt-4.1", 2.0, 8.0, 0.0, 0.50, True),
        Model("openai-native", "gpt-4.1", 2.0, 8.0, 0.0, 0.50),
        Model("openai-native", "gpt-5", 1.25, 10.0, 0.0, 0.125),
    )
}
EXPENSIVE = "anthropic:claude-opus-4-1-20250805"
EVERYDAY = [k for k in MODELS if k != EXPENSIVE]
EVERYDAY_WEIGHTS = (6, 2, 3, 3, 1, 2, 1)

FIRST = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "niaj",
    "olivia",
    "peggy",
    "rupert",
    "sybil",
    "trent",
    "victor",
    "walter",
    "xena",
    "yusuf",
    "zoe",
    "amir",
    "bea",
    "chen",
    "dara",
    "eli",
    "fatima",
    "goran",
    "hana",
]
LAST = [
    "nguyen",
    "smith",
    "garcia",
    "okafor",
    "kowalski",
    "tanaka",
    "silva",
    "muller",
    "rossi",
    "haddad",
    "ivanova",
    "novak",
    "larsen",
    "dubois",
    "kim",
    "patel",
    "obrien",
    "schmidt",
    "yilmaz",
    "costa",
]
TEAMS = ("platform", "payments", "data", "mobile", "web", "security")
PROJECTS = (
    "checkout-service",
    "ledger-api",
    "web-frontend",
    "ios-app",
    "etl-pipelines",
    "infra-terraform",
    "auth-gateway",
    "billing-worker",
    "design-system",
    "ml-features",
)
DOMAIN = "example.com"

MODES = ("code", "architect", "ask", "debug", "orchestrator")
MODE_WEIGHTS = (10, 3, 3, 2, 1)
# Modes whose tool groups include "edit" (architect: markdown only, still an edit group);
# a switch into one of these is a mutating action. Custom modes are declared per user.
EDIT_MODES = frozenset({"code", "architect", "debug", "docs-writer"})


def pick_weighted(rng: random.Random, items, weights):
    return rng.choices(list(items), weights=list(weights), k=1)[0]


def uuid4(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def uuid7(rng: random.Random, ts_ms: int) -> str:
    """RFC 9562 UUIDv7: 48-bit ms timestamp, version 7, variant 10, random rest."""
    value = (ts_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rng.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def hexstr(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def iso_ms(ts_ms: int) -> str:
    dt = datetime.fromtimestamp(ts_ms / 1000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts_ms % 1000:03d}Z"


def dumps(obj: Any) -> str:
    """JSON.stringify-compatible compact JSON (orjson keeps non-ASCII and '/' as is)."""
    return orjson.dumps(obj).decode()
