"""Linear time: doubling an adversarial input at most ~doubles the cost, and a 62 KB
message of any of these shapes redacts in < 0.5 s. Costs are best-of-N CPU times of this
process (other processes on a shared machine do not count) at sizes where one run takes
>= 50 ms, so timer and scheduler noise stay small against the cost.
"""

from __future__ import annotations

import time

import orjson
import pytest

from tasks.retention.engine import Redactor
from tests.retention.adversarial import SHAPES, api_req_started


@pytest.fixture(scope="module")
def red() -> Redactor:
    return Redactor(key=b"linear")


def _best(red: Redactor, data: bytes, n: int = 5, clock=time.process_time) -> float:
    fn = red.redact_json if data[:1] in b"[{" else red.redact_text
    best = float("inf")
    for _ in range(n):
        t0 = clock()
        fn(data)
        best = min(best, clock() - t0)
    return best


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_doubling_costs_at_most_2_5x(red: Redactor, shape: str) -> None:
    make = SHAPES[shape]
    size = 50_000
    while _best(red, make(size), 1) < 0.05 and size < 8_000_000:
        size *= 2
    small, large = _best(red, make(size)), _best(red, make(2 * size))
    assert large / small <= 2.5, (shape, size, small, large)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_62_kb_message_redacts_under_half_a_second(red: Redactor, shape: str) -> None:
    data = SHAPES[shape](62_000)
    if shape == "nested":  # 6 levels of escaping multiply the bytes: size the whole message
        data = SHAPES[shape](62_000 // 24)
    assert len(data) >= 55_000
    assert _best(red, data, 3, time.perf_counter) < 0.5  # wall clock: what a user waits


def test_real_shaped_message_still_redacts_and_stays_json(red: Redactor) -> None:
    secret = "ghp_" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2"
    msg = orjson.loads(api_req_started(62_000))
    inner = orjson.loads(msg[0]["text"])
    inner["request"] += f"\ntoken {secret}\n"
    msg[0]["text"] = orjson.dumps(inner).decode()
    out = red.redact_json(orjson.dumps(msg))
    assert secret.encode() not in out
    back = orjson.loads(out)
    assert set(orjson.loads(back[0]["text"])) == {"request", "apiProtocol", "tokensIn"}
