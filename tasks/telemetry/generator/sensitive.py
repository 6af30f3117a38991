"""Secrets, personal data and look-alike decoys, in the formats a redactor must handle.

Each snippet builder returns a `Snippet`: some text as a tool would show it, the planted
`(kind, value)` pairs that must be redacted and the `(kind, value)` decoys that must not.
Values never contain a quote or a backslash, so single-line ones appear verbatim in the
JSON files too; multi-line PEM keys appear verbatim in command-output .txt files and
JSON-escaped elsewhere (the ground truth records which).
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"

SECRET_KINDS = (
    "aws_access_key_id",
    "aws_secret_access_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "openai_key",
    "anthropic_key",
    "openrouter_key",
    "google_api_key",
    "npm_token",
    "pypi_token",
    "jwt",
    "private_key",
    "azure_storage_key",
    "sendgrid_key",
    "twilio_key",
    "url_credentials",
    "bearer_token",
    "password_assignment",
    "api_key_assignment",
    "email",
    "phone",
    "ipv4",
    "ipv6",
    "credit_card",
    "iban",
    "us_ssn",
)
DECOY_KINDS = ("aws_example_key", "git_sha", "uuid", "sha256", "base64_blob", "luhn_invalid")
AWS_EXAMPLE_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@dataclass
class Snippet:
    text: str
    secrets: list[tuple[str, str]] = field(default_factory=list)
    decoys: list[tuple[str, str]] = field(default_factory=list)


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card(rng: random.Random, valid: bool = True) -> str:
    body = rng.choice(["4", "51", "52", "55"])
    body += _r(rng, string.digits, 15 - len(body))
    for check in "0123456789":
        if luhn_ok(body + check) == valid:
            return body + check
    raise AssertionError("unreachable")


def iban(rng: random.Random) -> str:
    country, bban = rng.choice(
        [
            ("DE", _r(rng, string.digits, 18)),
            ("GB", "NWBK" + _r(rng, string.digits, 14)),
            ("FR", _r(rng, string.digits, 23)),
        ]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    return f"{country}{check:02d}{bban}"


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def phone(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return f"+1 ({rng.randint(201, 989)}) {rng.randint(200, 989)}-{rng.randint(1000, 9999)}"
    return f"+44 7{rng.randint(100, 999)} {rng.randint(100000, 999999)}"


def email(rng: random.Random) -> str:
    name = rng.choice(["j.doe", "maria.k", "tom_b", "li.wei", "ana.p", "sam.r"]) + str(
        rng.randint(1, 99)
    )
    return f"{name}@{rng.choice(['gmail.com', 'outlook.com', 'proton.me', 'yahoo.co.uk'])}"


def ipv4(rng: random.Random) -> str:
    return f"{rng.choice([34, 52, 81, 91, 185])}.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"


def ipv6(rng: random.Random) -> str:
    return "2600:1f18:" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(6))


def pem(rng: random.Random, kind: str) -> str:
    label, magic, size = {
        "rsa": ("RSA PRIVATE KEY", b"\x30\x82\x04\xa4\x02\x01\x00", 1190),
        "ec": ("EC PRIVATE KEY", b"\x30\x77\x02\x01\x01\x04\x20", 114),
        "openssh": ("OPENSSH PRIVATE KEY", b"openssh-key-v1\x00", 380),
    }[kind]
    body = base64.b64encode(magic + rng.randbytes(size)).decode()
    width = 70 if kind == "openssh" else 64
    lines = [body[i : i + width] for i in range(0, len(body), width)]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def jwt(rng: random.Random) -> str:
    header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
    claims = {
        "sub": str(rng.randint(10**5, 10**6)),
        "role": "admin",
        "iat": 1790000000 + rng.randint(0, 10**7),
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_b64url(rng.randbytes(32))}"


def password(rng: random.Random) -> str:
    return _r(rng, ALNUM, 12) + rng.choice("!#%*-_") + _r(rng, ALNUM, 5)


# --- snippet builders: (rng) -> Snippet ----------------------------------------------


def env_dump(rng: random.Random) -> Snippet:
    akid = "AKIA" + _r(rng, B32, 16)
    secret = _r(rng, B64, 40)
    gh = "ghp_" + _r(rng, ALNUM, 36)
    npm = "npm_" + _r(rng, ALNUM, 36)
    oai = "sk-proj-" + _r(rng, URLSAFE, 64)
    ork = "sk-or-v1-" + "".join(rng.choice("0123456789abcdef") for _ in range(64))
    lines = [
        "HOME=/home/dev",
        "LANG=en_US.UTF-8",
        f"AWS_ACCESS_KEY_ID={akid}",
        "AWS_DEFAULT_REGION=us-east-1",
        f"AWS_SECRET_ACCESS_KEY={secret}",
        f"GITHUB_TOKEN={gh}",
        f"NPM_TOKEN={npm}",
        f"OPENAI_API_KEY={oai}",
        f"OPENROUTER_API_KEY={ork}",
        "PATH=/usr/local/bin:/usr/bin:/bin",
        "SHELL=/bin/zsh",
        "TERM=xterm-256color",
    ]
    return Snippet(
        "\n".join(lines) + "\n",
        [
            ("aws_access_key_id", akid),
            ("aws_secret_access_key", secret),
            ("github_token", gh),
            ("npm_token", npm),
            ("openai_key", oai),
            ("openrouter_key", ork),
        ],
    )


def dotenv(rng: random.Random) -> Snippet:
    pw = password(rng)
    sk = "sk_live_" + _r(rng, ALNUM, 32)
    sg = "SG." + _r(rng, URLSAFE, 22) + "." + _r(rng, URLSAFE, 43)
    hook = f"https://hooks.slack.com/services/T{_r(rng, B32, 8)}/B{_r(rng, B32, 10)}/{_r(rng, ALNUM, 24)}"
    tw = "SK" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
    text = (
        "# local overrides, do not commit\n"
        "NODE_ENV=development\n"
        f"DATABASE_URL=postgres://ledger_app:{pw}@db.internal.acme.io:5432/ledger\n"
        f"STRIPE_SECRET_KEY={sk}\n"
        f"SENDGRID_API_KEY={sg}\n"
        f"SLACK_WEBHOOK_URL={hook}\n"
        f"TWILIO_API_KEY={tw}\n"
        "FEATURE_FLAGS=checkout_v2,fast_refunds\n"
    )
    return Snippet(
        text,
        [
            ("url_credentials", pw),
            ("stripe_key", sk),
            ("sendgrid_key", sg),
            ("slack_webhook", hook),
            ("twilio_key", tw),
        ],
    )


def private_keys(rng: random.Random) -> Snippet:
    kind = rng.choice(["rsa", "ec", "openssh"])
    key = pem(rng, kind)
    return Snippet(key + "\n", [("private_key", key)])


def customer_rows(rng: random.Random) -> Snippet:
    secrets: list[tuple[str, str]] = []
    rows = ["id | email | phone | card | iban | ssn | last_ip"]
    for i in range(3):
        vals = [
            email(rng),
            phone(rng),
            card(rng),
            iban(rng),
            ssn(rng),
            ipv4(rng) if i < 2 else ipv6(rng),
        ]
        kinds = ["email", "phone", "credit_card", "iban", "us_ssn", "ipv4" if i < 2 else "ipv6"]
        secrets += list(zip(kinds, vals, strict=True))
        rows.append(f"{1000 + i} | " + " | ".join(vals))
    return Snippet("\n".join(rows) + "\n(3 rows)", secrets)


def curl_bearer(rng: random.Random) -> Snippet:
    tok = _r(rng, ALNUM, 40)
    token = jwt(rng)
    text = (
        f"> GET /v1/accounts HTTP/1.1\n> Authorization: Bearer {tok}\n< HTTP/1.1 200 OK\n"
        f'{{"session":"{token}","expires_in":3600}}\n'
    )
    return Snippet(text, [("bearer_token", tok), ("jwt", token)])


def config_file(rng: random.Random) -> Snippet:
    pw = password(rng)
    key = _r(rng, ALNUM, 32)
    az = _r(rng, B64, 86) + "=="
    text = (
        "[service]\nname = billing-worker\n"
        f"password={pw}\n"
        f"api_key={key}\n"
        f"storage = DefaultEndpointsProtocol=https;AccountName=acmebilling;AccountKey={az};EndpointSuffix=core.windows.net\n"
    )
    return Snippet(
        text,
        [("password_assignment", pw), ("api_key_assignment", key), ("azure_storage_key", az)],
    )


def pasted_tokens(rng: random.Random) -> Snippet:
    gl = "glpat-" + _r(rng, URLSAFE, 20)
    ant = "sk-ant-api03-" + _r(rng, URLSAFE, 93) + "AA"
    goog = "AIza" + _r(rng, URLSAFE, 35)
    text = (
        f"Set up the CI runner with my gitlab token {gl} and use {ant} for the eval job. "
        f"The maps widget needs key {goog}."
    )
    return Snippet(text, [("gitlab_token", gl), ("anthropic_key", ant), ("google_api_key", goog)])


def pypirc_and_bot(rng: random.Random) -> Snippet:
    pypi = "pypi-AgEIcHlwaS5vcmc" + _r(rng, URLSAFE, 60)
    slack = f"xoxb-{rng.randint(10**10, 10**11 - 1)}-{rng.randint(10**12, 10**13 - 1)}-{_r(rng, ALNUM, 24)}"
    pat = "github_pat_" + _r(rng, ALNUM, 22) + "_" + _r(rng, ALNUM, 59)
    pw = password(rng)
    text = (
        "[pypi]\n  username = __token__\n"
        f"  password = {pypi}\n"
        f"bot:\n  slack_token: {slack}\n  github: {pat}\n"
        f"  mirror: https://deploy:{pw}@git.acme.io/mirror.git\n"
    )
    return Snippet(
        text,
        [
            ("pypi_token", pypi),
            ("slack_token", slack),
            ("github_token", pat),
            ("url_credentials", pw),
        ],
    )


SECRET_SNIPPETS = {
    "env_dump": env_dump,
    "dotenv": dotenv,
    "private_keys": private_keys,  # printed by a short command: JSON-escaped in the files
    "private_keys_long": private_keys,  # inside a long output: verbatim in command-output/
    "customer_rows": customer_rows,
    "curl_bearer": curl_bearer,
    "config_file": config_file,
    "pasted_tokens": pasted_tokens,
    "pypirc_and_bot": pypirc_and_bot,
}


# --- decoys (must not be redacted) ---------------------------------------------------


def git_log(rng: random.Random) -> Snippet:
    shas = [f"{rng.getrandbits(160):040x}" for _ in range(3)]
    msgs = ["fix rounding in refunds", "bump deps", "add retry to webhook sender"]
    return Snippet(
        "\n".join(f"{s} {m}" for s, m in zip(shas, msgs, strict=True)) + "\n",
        decoys=[("git_sha", s) for s in shas],
    )


def docker_digests(rng: random.Random) -> Snippet:
    d = f"{rng.getrandbits(256):064x}"
    u = f"{rng.getrandbits(128):032x}"
    u = f"{u[:8]}-{u[8:12]}-4{u[13:16]}-a{u[17:20]}-{u[20:]}"
    text = f"REPOSITORY  TAG  DIGEST\nbilling-worker  1.8.2  sha256:{d}\nrequest_id={u} status=ok\n"
    return Snippet(text, decoys=[("sha256", d), ("uuid", u)])


def aws_docs(rng: random.Random) -> Snippet:
    text = (
        "## Configure credentials (example from the AWS docs)\n"
        f"aws_access_key_id = {AWS_EXAMPLE_ID}\n"
        f"aws_secret_access_key = {AWS_EXAMPLE_SECRET}\n"
    )
    return Snippet(
        text, decoys=[("aws_example_key", AWS_EXAMPLE_ID), ("aws_example_key", AWS_EXAMPLE_SECRET)]
    )


def fixtures_blob(rng: random.Random) -> Snippet:
    blob = base64.b64encode(rng.randbytes(rng.choice([48, 57, 75]))).decode()
    num = card(rng, valid=False)
    text = f"fixture_png_b64: {blob}\norder_reference: {num}\n"
    return Snippet(text, decoys=[("base64_blob", blob), ("luhn_invalid", num)])


DECOY_SNIPPETS = {
    "git_log": git_log,
    "docker_digests": docker_digests,
    "aws_docs": aws_docs,
    "fixtures_blob": fixtures_blob,
}
