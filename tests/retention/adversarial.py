"""Adversarial inputs for the linear-time tests: shapes real Roo Code logs have (a long
`api_req_started` request, base64/hex runs, many near-miss token prefixes, JSON nested in
JSON strings) scaled to a given size, so a test can double them and compare costs.
"""

from __future__ import annotations

import base64
import random

import orjson

NEAR_MISS = [
    "sk-", "AKIA", "ghp_", "eyJ", "xoxb-", "glpat-", "AIza", "token=", "password: ",
    "api_key\\\": \\\"", "Bearer ", "-----BEGIN ", "$6$", "curl -u a:", "kind: Secret ",
    "https://u:p@", "secret=${X}", "\\\"auth\\\":", "+1 415", "4111 1111 ", "DE89 3704 ",
]  # fmt: skip


def near_misses(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    out, size = [], 0
    while size < n:
        piece = rng.choice(NEAR_MISS) + rng.choice(["x", "1", "a b", "==", "\\n", '\\"', ":"])
        out.append(piece)
        size += len(piece) + 1
    return " ".join(out)[:n]


def base64_run(n: int, seed: int = 2) -> str:
    return base64.b64encode(random.Random(seed).randbytes(n * 3 // 4 + 3)).decode()[:n]


def hex_run(n: int, seed: int = 3) -> str:
    return random.Random(seed).randbytes(n // 2 + 1).hex()[:n]


def nested(n: int, depth: int = 6) -> bytes:
    """A message whose text is JSON holding JSON holding … (`depth` levels), n bytes inside."""
    inner: object = {"content": near_misses(n)}
    for _ in range(depth):
        inner = {"tool": "use_mcp_tool", "arguments": orjson.dumps(inner).decode()}
    return orjson.dumps([{"ts": 1, "type": "ask", "ask": "use_mcp_server", "text": orjson.dumps(inner).decode()}])  # fmt: skip


def api_req_started(n: int) -> bytes:
    """A Roo Code `api_req_started` message: its text is JSON whose `request` is one long
    string mixing prompt text, file content, near-miss prefixes and encoded blobs."""
    quarter = n // 4
    request = "\n".join(
        [near_misses(quarter), base64_run(quarter), hex_run(quarter), near_misses(quarter, 9)]
    )
    text = orjson.dumps({"request": request, "apiProtocol": "anthropic", "tokensIn": 12345})
    return orjson.dumps([{"ts": 1, "type": "say", "say": "api_req_started", "text": text.decode()}])  # fmt: skip


def huge_string(n: int) -> bytes:
    return orjson.dumps({"content": near_misses(n // 2) + base64_run(n // 2)})


def pem_blocks(n: int, seed: int = 4) -> bytes:
    """First half: BEGIN lines whose body never reaches a key's END (lines under the 40 bytes
    a key line needs, ENDs of another type), so each BEGIN makes the regex confirm read up
    to 12,000 units ahead; second half: whole keys with `\\n` written out."""
    rng = random.Random(seed)
    out, size = [], 0
    while size < n:
        if size < n // 2:
            lines = "\n".join(base64_run(30, rng.randrange(1 << 30)) for _ in range(3))
            piece = f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END CERTIFICATE-----\n"
        else:
            body = "\\n".join(base64_run(64, rng.randrange(1 << 30)) for _ in range(8))
            piece = f"key = '-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----'\n"
        out.append(piece)
        size += len(piece)
    return "".join(out)[:n].encode()


SHAPES = {
    "api_req_started": api_req_started,
    "nested": nested,
    "huge_string": huge_string,
    "near_miss_text": lambda n: near_misses(n).encode(),
    "base64_text": lambda n: base64_run(n).encode(),
    "hex_text": lambda n: hex_run(n).encode(),
    "pem_blocks": pem_blocks,
    "pem_in_json": lambda n: orjson.dumps({"content": pem_blocks(n).decode()}),
}
