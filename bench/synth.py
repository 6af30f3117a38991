"""A fast synthetic writer of Roo Code task folders with planted secrets, PII and decoys.

Used by tests and bench/redaction.py (the fleet generator of tasks.telemetry covers the
realistic fleet; this one is about volume and known ground truth). Every planted value is
fresh random data; decoys are look-alikes that must survive redaction.
"""

from __future__ import annotations

import base64
import random
import string
import uuid
from pathlib import Path
from typing import Any

import orjson

from tasks.retention.validators import IBAN_LENGTHS

B32 = string.ascii_uppercase + "234567"
ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def luhn_complete(prefix: str) -> str:
    digits = [int(c) for c in prefix + "0"]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return prefix + str((10 - total % 10) % 10)


def iban(rng: random.Random, country: str = "DE") -> str:
    bban = _r(rng, string.digits, IBAN_LENGTHS[country] - 4)
    moved = bban + country + "00"
    check = 98 - int("".join(str(int(c, 36)) for c in moved)) % 97
    return f"{country}{check:02d}{bban}"


def pem(rng: random.Random, label: str) -> str:
    body = "\n".join(_r(rng, B64, 64) for _ in range(rng.randint(6, 14)))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----"


def jwt(rng: random.Random) -> str:
    def seg(obj: dict) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(obj)).rstrip(b"=").decode()

    head = seg({"alg": "HS256", "typ": "JWT"})
    body = seg({"sub": _r(rng, ALNUM, 12), "iat": rng.randint(1_600_000_000, 1_800_000_000)})
    return f"{head}.{body}.{_r(rng, URLSAFE, 43)}"


def planted(rng: random.Random) -> list[tuple[str, str, str]]:
    """(kind, value, text carrying it). One of each kind, fresh values."""
    aws_id = "AKIA" + _r(rng, B32, 16)
    aws_secret = _r(rng, B64, 40)
    pw = _r(rng, ALNUM, 14) + str(rng.randint(10, 99))
    db_pw = _r(rng, ALNUM, 18)
    card = luhn_complete("4" + _r(rng, string.digits, 14))
    card_spaced = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    ip6 = "2600:1f18:" + ":".join(f"{rng.randint(1, 0xFFFF):x}" for _ in range(6))
    ssn = f"{rng.randint(100, 665):03d}-{rng.randint(10, 99):02d}-{rng.randint(1000, 9999):04d}"
    email = f"{_r(rng, string.ascii_lowercase, 6)}.{_r(rng, string.ascii_lowercase, 7)}@corp-{rng.randint(1, 99)}.com"
    items = [
        ("aws_access_key_id", aws_id, f"export AWS_ACCESS_KEY_ID={aws_id}"),
        ("aws_secret_access_key", aws_secret, f"aws_secret_access_key = {aws_secret}"),
        ("github_token", "ghp_" + _r(rng, ALNUM, 36), "token {v} pushed"),
        ("github_token", "gho_" + _r(rng, ALNUM, 36), "oauth {v}"),
        ("github_token", "ghu_" + _r(rng, ALNUM, 36), "user-to-server {v}"),
        ("github_token", "ghs_" + _r(rng, ALNUM, 36), "installation {v}"),
        ("github_token", "github_pat_" + _r(rng, ALNUM + "_", 82), "GH_TOKEN={v}"),
        ("gitlab_token", "glpat-" + _r(rng, URLSAFE, 20), "gitlab {v}"),
        ("slack_token", f"xoxb-{_r(rng, string.digits, 12)}-{_r(rng, string.digits, 12)}-{_r(rng, ALNUM, 24)}", "slack bot {v}"),
        ("slack_webhook", f"https://hooks.slack.com/services/T{_r(rng, B32, 8)}/B{_r(rng, B32, 8)}/{_r(rng, ALNUM, 24)}", "curl -X POST {v}"),
        ("stripe_key", "sk_live_" + _r(rng, ALNUM, 24), "STRIPE_KEY {v}"),
        ("openai_key", "sk-proj-" + _r(rng, URLSAFE, 48), "OPENAI {v}"),
        ("anthropic_key", "sk-ant-api03-" + _r(rng, URLSAFE, 93) + "AA", "ANTHROPIC {v}"),
        ("google_api_key", "AIza" + _r(rng, URLSAFE, 35), "maps key {v}"),
        ("npm_token", "npm_" + _r(rng, ALNUM, 36), "//registry.npmjs.org/:_authToken {v}"),
        ("pypi_token", "pypi-AgEIcHlwaS5vcmc" + _r(rng, URLSAFE, 60), "twine {v}"),
        ("jwt", jwt(rng), "cookie session {v}"),
        ("private_key", pem(rng, "RSA PRIVATE KEY"), "key file:\n{v}\n"),
        ("private_key", pem(rng, "EC PRIVATE KEY"), "{v}"),
        ("private_key", pem(rng, "OPENSSH PRIVATE KEY"), "id_ed25519:\n{v}"),
        ("azure_storage_key", _r(rng, B64, 86) + "==", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={v};EndpointSuffix=core.windows.net"),
        ("sendgrid_key", f"SG.{_r(rng, URLSAFE, 22)}.{_r(rng, URLSAFE, 43)}", "sendgrid {v}"),
        ("twilio_api_key", "SK" + _r(rng, "0123456789abcdef", 32), "twilio {v}"),
        ("url_credentials", pw, "git clone https://deploy:{v}@git.corp.example/repo.git"),
        ("url_credentials", db_pw, "DATABASE_URL=postgres://app:{v}@db.internal:5432/prod"),
        ("bearer_token", _r(rng, URLSAFE, 40), "Authorization: Bearer {v}"),
        ("generic_secret", _r(rng, ALNUM, 20) + "9", 'password="{v}"'),
        ("generic_secret", _r(rng, ALNUM, 32), "api_key: {v}"),
        ("email", email, "contact {v} for access"),
        ("phone", f"+1 415-555-{rng.randint(1000, 9999)}", "call {v}"),
        ("ipv4", f"{rng.randint(11, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}", "client ip {v} blocked"),
        ("ipv6", ip6, "peer {v} connected"),
        ("card_number", card_spaced, "card {v} charged"),
        ("iban", iban(rng, rng.choice(["DE", "GB", "FR", "NL"])), "pay to {v} today"),
        ("us_ssn", ssn, "SSN {v} on file"),
    ]  # fmt: skip
    return [(k, v, t.replace("{v}", v)) if "{v}" in t else (k, v, t) for k, v, t in items]


def decoys(rng: random.Random) -> list[str]:
    bad_card = luhn_complete("4" + _r(rng, string.digits, 14))
    bad_card = bad_card[:-1] + str((int(bad_card[-1]) + 1) % 10)
    return [
        _r(rng, "0123456789abcdef", 40),  # git SHA
        str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        _r(rng, "0123456789abcdef", 64),  # sha256 digest
        base64.b64encode(rng.randbytes(90)).decode(),
        bad_card,
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
    ]


FILLER = [
    "I'll read the file to understand the structure before making changes.",
    "The function `parseConfig` returns a promise; we should await it in the caller.",
    "Running the tests now. 42 passed, 0 failed in 3.21s.",
    "const total = items.reduce((acc, x) => acc + x.price * x.qty, 0);",
    "Let me search for usages of the deprecated API across the workspace.",
    "def handler(event, context):\n    return {'statusCode': 200, 'body': json.dumps(event)}",
    "Updated src/components/Table.tsx to memoize the rows and avoid re-renders.",
]


def _filler(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(FILLER, k=n))


# file contents the agent read (api_conversation_history is mostly this), built once
_PAD = "\n".join(f"{i:05d}  " + FILLER[i % len(FILLER)] for i in range(2000))


def write_task(
    folder: Path, rng: random.Random, *, messages: int = 40, plant: bool = True, pad: int = 0
) -> dict[str, Any]:
    """One task folder; returns {"secrets": [{kind, value, file}], "decoys": [...]}."""
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = {"secrets": [], "decoys": []}
    plants = planted(rng) if plant else []
    rng.shuffle(plants)
    decs = decoys(rng)
    truth["decoys"] = decs
    ui, api, cmd_lines = [], [], []
    ts = 1_763_700_000_000 + rng.randint(0, 10**9)
    for i in range(messages):
        ts += rng.randint(100, 5000)
        text = _filler(rng, rng.randint(2, 8))
        where = (i // 2) % 3
        if plants and i % 2 == 0:
            kind, value, carrier = plants.pop()
            if where == 0:
                ui.append({"ts": ts, "type": "say", "say": "text", "text": f"{text} {carrier}"})
                truth["secrets"].append({"kind": kind, "value": value, "file": "ui_messages.json"})
            elif where == 1:  # doubly encoded, like Roo Code's tool messages
                tool = {
                    "tool": "newFileCreated",
                    "path": "src/.env",
                    "content": f"{text}\n{carrier}\n",
                }
                ui.append(
                    {"ts": ts, "type": "ask", "ask": "tool", "text": orjson.dumps(tool).decode()}
                )
                truth["secrets"].append({"kind": kind, "value": value, "file": "ui_messages.json"})
            else:
                cmd_lines.append(f"$ run step {i}\n{text}\n{carrier}\n")
                truth["secrets"].append(
                    {"kind": kind, "value": value, "file": "command-output/cmd-1.txt"}
                )
        else:
            decoy = decs[(i // 2) % len(decs)]
            ui.append({"ts": ts, "type": "say", "say": "text", "text": f"{text} ref {decoy}"})
        req = {
            "apiProtocol": "anthropic",
            "tokensIn": rng.randint(1000, 40000),
            "tokensOut": rng.randint(10, 2000),
            "cost": round(rng.random() / 10, 5),
        }
        ui.append(
            {
                "ts": ts + 1,
                "type": "say",
                "say": "api_req_started",
                "text": orjson.dumps(req).decode(),
            }
        )
        if pad:
            off = rng.randrange(0, len(_PAD) - pad)
            text = f"{text}\n<file_content>\n{_PAD[off : off + pad]}\n</file_content>"
        api.append(
            {"role": "user" if i % 2 else "assistant", "content": [{"type": "text", "text": text}]}
        )
    for kind, value, carrier in plants:  # leftovers go to the conversation history
        api.append({"role": "user", "content": [{"type": "text", "text": carrier}]})
        truth["secrets"].append(
            {"kind": kind, "value": value, "file": "api_conversation_history.json"}
        )
    (folder / "ui_messages.json").write_bytes(orjson.dumps(ui))
    (folder / "api_conversation_history.json").write_bytes(orjson.dumps(api))
    hist = {
        "id": folder.name,
        "number": 1,
        "ts": ts,
        "task": _filler(rng, 1),
        "tokensIn": 100,
        "tokensOut": 10,
        "totalCost": 0.01,
    }
    (folder / "history_item.json").write_bytes(orjson.dumps(hist))
    (folder / "command-output").mkdir(exist_ok=True)
    (folder / "command-output" / "cmd-1.txt").write_text("".join(cmd_lines) or "ok\n")
    return truth  # fmt: skip


def write_storage(
    root: Path, tasks: int, seed: int = 7, messages: int = 40, pad: int = 0
) -> dict[str, Any]:
    """<root>/tasks/<taskId>/… for `tasks` tasks; ground truth for all of them."""
    rng = random.Random(seed)
    truth: dict[str, Any] = {"secrets": [], "decoys": []}
    for _ in range(tasks):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        t = write_task(root / "tasks" / task_id, rng, messages=messages, pad=pad)
        for s in t["secrets"]:
            s["file"] = f"tasks/{task_id}/{s['file']}"
        truth["secrets"] += t["secrets"]
        truth["decoys"] += t["decoys"]
    return truth
