"""is_placeholder's `…_here` check (`your_key_here`, `TokenHere`): pinned decisions, and the
cheap `here` test that now runs before the case-blind regex decides the same."""

from __future__ import annotations

import random

import pytest

from tasks.retention.validators import _HERE, is_placeholder

HERE_CASES = {
    "your_key_here": True,
    "MyTokenHere": True,
    "API_KEY_HERE": True,
    "secret-HERE": True,
    "passwordGoesHere": True,  # `passw\w*` gives back `Here`
    "PasswordHere1": False,  # no word end after `here`
    "idhere": True,
    "valueHere!": True,
    "stringhere.txt": True,
    "tokenHereAfter": False,
    "token_hear": False,
    "tokenh\u00e9re": False,  # é is not e
    "TOKEN\uff28ERE": False,  # a fullwidth H is not H
    "\u212aEY_HERE": True,  # the Kelvin sign is a `k` to a case-blind regex
    "Zq8vLr2mKp" * 9 + "key_here": True,
    "Zq8vLr2mKp" * 9 + "key_hero": False,
}


@pytest.mark.parametrize("value", list(HERE_CASES))
def test_here_placeholders(value: str) -> None:
    assert is_placeholder(value) is HERE_CASES[value]


def test_here_is_in_every_match_of_the_regex() -> None:
    """`_HERE` only matches where the lowered text holds `here` (no other character lowers
    or case-folds to h, e or r), so testing that first changes no decision."""
    pieces = ["token", "Key", "SECRET", "passw", "ord", "value", "string", "id", "here",
              "HERE", "Here", "hEre", "_", "-", " ", "x", "1", "\u0130", "\u212a", "\u017f",
              "\u0131", "\u00e9", "h", "e", "r", "\uff28"]  # fmt: skip
    rng = random.Random(5)
    hits = 0
    for _ in range(20_000):
        value = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        found = _HERE.search(value) is not None
        hits += found
        assert found <= ("here" in value.lower()), value
    assert hits > 1000
