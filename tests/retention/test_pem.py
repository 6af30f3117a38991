"""The private_key rule's decisions on tricky PEM inputs, pinned: what is redacted, what is
kept. Written against the regex confirm (a lazy loop) and kept unchanged when the confirm
became linear (tasks/retention/pem.py), so the two decide the same."""

from __future__ import annotations

import random
import re

import orjson
import pytest

from tasks.retention.engine import Redactor
from tasks.retention.rules import REGISTRY

MARK = re.compile(rb"\[REDACTED:([a-z_]+):[0-9a-f]{8}\]")
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
RNG = random.Random(7)


def line(n: int = 64) -> str:
    return "".join(RNG.choice(B64) for _ in range(n))


BODY = "\n".join(line() for _ in range(4))
SHORT = f"{line(30)}\n{line(30)}"
LONG = line(13_000)
WRITTEN = BODY.replace("\n", "\\n")  # `\n` written out, as in a repr or a log line
TABBED = BODY.replace("\n", "\\t")  # `\t` written out between the lines
TWICE = BODY.replace("\n", "\\\\n")  # `\\n`: a newline escaped twice


@pytest.fixture(scope="module")
def red() -> Redactor:
    return Redactor(key=b"pem")


def shown(red: Redactor, text: str) -> str:
    """The redacted text with each marker shown as <kind>."""
    out = red.redact_text(text.encode())
    return MARK.sub(lambda m: b"<" + m.group(1) + b">", out).decode()


CASES = {
    "whole block, text around kept": (
        f"log start\n-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END RSA PRIVATE KEY-----\nlog end",
        "log start\n<private_key>\nlog end",
    ),
    "BEGIN without END: the 40+ base64 lines only": (
        f"x -----BEGIN PRIVATE KEY-----\n{BODY}\nabc\nnext text",
        "x <private_key>\nabc\nnext text",
    ),
    "BEGIN without END, lines under 40: kept": (
        f"x -----BEGIN PRIVATE KEY-----\n{SHORT}\nnext",
        f"x -----BEGIN PRIVATE KEY-----\n{SHORT}\nnext",
    ),
    "END of another type inside: runs to the key's END": (
        f"-----BEGIN PRIVATE KEY-----\n{BODY}\n-----END CERTIFICATE-----\n{line()}\n-----END PRIVATE KEY-----\ntail",
        "<private_key>\ntail",
    ),
    "END of another type only: the base64 lines": (
        f"-----BEGIN PRIVATE KEY-----\n{BODY}\n-----END CERTIFICATE-----\ntail",
        "<private_key>\n-----END CERTIFICATE-----\ntail",
    ),
    "END with `_` in its label": (
        f"-----BEGIN PRIVATE KEY-----\n{BODY}\n-----END OPENSSH_X PRIVATE KEY-----\nz",
        "<private_key>\nz",
    ),
    "huge body (> 12,000 units): the lines, END line kept": (
        f"-----BEGIN PRIVATE KEY-----\n{LONG}\n-----END PRIVATE KEY-----\nz",
        "<private_key>\n-----END PRIVATE KEY-----\nz",
    ),
    "`\\n` written out": (
        f"key='-----BEGIN RSA PRIVATE KEY-----\\n{WRITTEN}\\n-----END RSA PRIVATE KEY-----' done",
        "key='<private_key>' done",
    ),
    "`\\t` written out, no END: kept (only `\\n`, `\\r` separate lines)": (
        f"k=-----BEGIN PRIVATE KEY-----\\t{TABBED} done",
        f"k=-----BEGIN PRIVATE KEY-----\\t{TABBED} done",
    ),
    "`\\t` written out, with END": (
        f"k=-----BEGIN PRIVATE KEY-----\\t{TABBED}\\t-----END PRIVATE KEY----- done",
        "k=<private_key> done",
    ),
    "`\\\\n` (escaped twice, seen as text): kept": (
        f"k=-----BEGIN PRIVATE KEY-----\\\\n{TWICE}\\\\n-----END PRIVATE KEY----- done",
        f"k=-----BEGIN PRIVATE KEY-----\\\\n{TWICE}\\\\n-----END PRIVATE KEY----- done",
    ),
    "body under 40 units before END: kept": (
        f"-----BEGIN PRIVATE KEY-----\n{line(30)}\n-----END PRIVATE KEY-----",
        None,
    ),
    "two keys, text between kept": (
        f"a -----BEGIN EC PRIVATE KEY-----\n{BODY}\n-----END EC PRIVATE KEY----- b "
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{BODY}\n-----END OPENSSH PRIVATE KEY----- c",
        "a <private_key> b <private_key> c",
    ),
    "PGP armour (BLOCK, Version:, checksum)": (
        f"-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n{BODY}\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----\nz",
        "<private_key>\nz",
    ),
    "a shorter BEGIN line when the longest fails": (
        "-----BEGIN PRIVATE KEY-----PRIVATE KEY-----\n"
        + "A" * 29
        + "\n-----END PRIVATE KEY----- z",
        "<private_key> z",
    ),
    "CRLF lines": (
        f"-----BEGIN RSA PRIVATE KEY-----\r\n{BODY.replace(chr(10), chr(13) + chr(10))}\r\n-----END RSA PRIVATE KEY-----\r\nz",
        "<private_key>\r\nz",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_pem_decisions_in_text(red: Redactor, name: str) -> None:
    text, want = CASES[name]
    assert shown(red, text) == (text if want is None else want)


def _finds(red: Redactor, data: bytes) -> list[tuple[int, int]]:
    rid = [r.name for r in red.rules].index("private_key")
    return [m.span(0) for m in red.patterns[rid].finditer(data, 0, len(data))]


@pytest.mark.parametrize("sep", ["\n", "\\n"])
def test_body_of_12000_units_is_the_limit(red: Redactor, sep: str) -> None:
    """A body unit is a byte or a written-out escape: 12,000 of them match, 12,001 do not
    (the block is then read as base64 lines, which stop before the END line; 39 units
    make a line too short for that)."""
    head, end = b"-----BEGIN PRIVATE KEY-----", b"-----END PRIVATE KEY-----"
    lines = [(0, -len(end) - len(sep))]  # the base64 line only
    for units, want in ((40, [(0, 0)]), (39, []), (12_000, [(0, 0)]), (12_001, lines)):
        data = head + (sep + line(units - 2) + sep).encode() + end
        want = [(s, e + len(data)) for s, e in want]
        assert _finds(red, data) == want, (units, sep)


def test_pem_in_json_strings_and_json_in_json(red: Redactor) -> None:
    key = f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END RSA PRIVATE KEY-----"
    no_end = f"-----BEGIN PRIVATE KEY-----\n{BODY}\nabc"
    inner = orjson.dumps({"path": "id_rsa", "content": key}).decode()
    msgs = [
        {"ts": 1, "say": "text", "text": f"here: {key} ok"},
        {"ts": 2, "say": "tool", "text": inner},  # JSON in a JSON string: `\\n` twice escaped
        {"ts": 3, "say": "text", "text": no_end},
    ]
    out = red.redact_json(orjson.dumps(msgs))
    back = orjson.loads(out)
    assert MARK.sub(b"<K>", back[0]["text"].encode()) == b"here: <K> ok"
    tool = orjson.loads(back[1]["text"])
    assert tool["path"] == "id_rsa" and MARK.fullmatch(tool["content"].encode())
    assert MARK.sub(b"<K>", back[2]["text"].encode()) == b"<K>\nabc"
    assert [m["ts"] for m in back] == [1, 2, 3]


def test_the_rule_text_is_unchanged() -> None:
    """These pins hold for this pattern; a new pattern needs new pins."""
    assert REGISTRY["private_key"].pattern == (
        r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:(?:[A-Za-z0-9+/=:,. \t\r\n-]|\\[nrt]){40,12000}?-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"|(?:(?:[ \t\r\n]|\\[nr])+[A-Za-z0-9+/=]{40,})+)"
    )


HEADS = [
    "-----BEGIN PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----", "-----BEGIN PRIVATE KEY-----PRIVATE KEY-----",
    "-----END PRIVATE KEY-----", "-----END EC PRIVATE KEY-----", "-----END OPENSSH_X PRIVATE KEY-----",
    "-----END CERTIFICATE-----", "-----END PRIVATE KEY BLOCK-----",
]  # fmt: skip
PIECES = [
    "-----BEGIN ", "PRIVATE KEY", " BLOCK", "-----", "-----END ", "\\n", "\\r", "\\t", "\\\\",
    "\\\\n", "\\x", "_", "#", "Version: 1", "=ab", ":", '"', " ",
]  # fmt: skip
SEPS = ["\n", "\n", "\\n", "\r\n", "\\r\\n", "\\\\n", "\t", "\\t", " "]


def _random_text(rng: random.Random) -> bytes:
    parts = []
    for _ in range(rng.randint(1, 30)):
        roll = rng.random()
        if roll < 0.3:
            parts.append(rng.choice(HEADS))
        elif roll < 0.55:
            parts.append(
                "".join(rng.choice(B64) for _ in range(rng.choice([5, 20, 38, 40, 64, 300])))
            )
        elif roll < 0.85:
            parts.append(rng.choice(SEPS))
        else:
            parts.append(rng.choice(PIECES))
    return "".join(parts).encode()


def test_linear_confirm_finds_what_the_regex_finds(red: Redactor) -> None:
    """The engine's PEM confirm against the rule's regex itself, on random mixes of BEGIN and
    END lines of several types, base64 runs around the 40-byte line limit, escapes written
    out once or twice, bytes outside the body alphabet, and random window bounds."""
    rid = [r.name for r in red.rules].index("private_key")
    regex, ours = re.compile(REGISTRY["private_key"].pattern.encode()), red.patterns[rid]
    rng = random.Random(14)
    ended = lines = 0  # matches by branch: up to an END line, or base64 lines
    for _ in range(4000):
        data = _random_text(rng)
        lo, hi = rng.randint(0, 5), len(data) - rng.randint(0, 5)
        want = [m.span(0) for m in regex.finditer(data, lo, hi)]
        assert [m.span(0) for m in ours.finditer(data, lo, hi)] == want, data
        for _, e in want:
            ended += data.endswith(b"-----", 0, e)
            lines += not data.endswith(b"-----", 0, e)
    assert ended > 500 and lines > 100  # the mixes reach both branches of the pattern
    for text, _ in CASES.values():
        data = text.encode()
        assert [m.span() for m in ours.finditer(data, 0, len(data))] == [
            m.span() for m in regex.finditer(data, 0, len(data))
        ]
