"""One positive and one look-alike per rule; allowlist; custom rules; config errors."""

from __future__ import annotations

import random

import pytest

from bench.synth import iban, jwt, luhn_complete, pem
from tasks.common.errors import ConfigError
from tasks.retention.config import parse_redaction, parse_retention, redaction_key
from tasks.retention.engine import Redactor
from tasks.retention.rules import REGISTRY

RNG = random.Random(3)
B64 = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY/z+QwErT"  # 40 chars, high entropy
CARD = luhn_complete("4539" + "57310062314")

# rule name -> (text containing a secret, the secret, a look-alike that must survive)
CASES: dict[str, tuple[str, str, str]] = {
    "private_key": (
        "k:\n{v}\nend",
        pem(RNG, "OPENSSH PRIVATE KEY"),
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----",
    ),
    "aws_access_key_id": ("id {v} ok", "AKIA2E3A4F5B6G7C7D2Q", "AKIAIOSFODNN7EXAMPLE"),
    "aws_secret_near_key_id": (
        "AKIA2E3A4F5B6G7C7D2Q {v}",
        B64,
        "AKIAIOSFODNN7EXAMPLE 3f786850e387550fdab836ed7e6dc881de23001b",
    ),
    "aws_secret_access_key": (
        "aws_secret_access_key: {v}",
        B64,
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    "github_token": ("t {v}", "ghs_" + "Ab1" * 12, "ghx_" + "Ab1" * 12),
    "github_fine_grained_pat": ("t {v}", "github_pat_" + "A1b_" * 20 + "Zz", "github_pat_short"),
    "gitlab_token": ("t {v}", "glpat-Ab1Cd2Ef3Gh4Ij5Kl6Mn", "glpat-short"),
    "slack_token": ("t {v}", "xoxb-263594206564-618492037155-FGqddMF8t08v8N7Oq4i57vs1", "xoxz-1"),
    "slack_webhook": (
        "u {v}",
        "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBBBB/AbCdEfGhIjKlMnOpQrStUvWx",
        "https://hooks.slack.com/",
    ),
    "stripe_key": ("k {v}", "sk_live_Zq8rT2mWx9Lk4Pv7Ns3Bh6Jd", "sk_live_"),
    "anthropic_key": ("k {v}", "sk-ant-api03-" + "Ab1-" * 23 + "xAA", "sk-ant-"),
    "openai_key": ("k {v}", "sk-proj-" + "Ab1_" * 12, "sk-learn is a library"),
    "openrouter_key": ("k {v}", "sk-or-v1-" + "0a1b2c3d" * 8, "sk-or-v1-nothex"),
    "google_api_key": ("k {v}", "AIza" + "SyA1b2C3d4E5f6G7h8I9j0K_L-mNoPqRsTu", "AIzaShort"),
    "npm_token": ("k {v}", "npm_" + "Ab1" * 12, "npm_install"),
    "pypi_token": ("k {v}", "pypi-AgEIcHlwaS5vcmc" + "Ab1-" * 15, "pypi-AgE"),
    "jwt": ("c {v}", jwt(RNG), "eyJhbGciOi.notajwt"),
    "azure_storage_key": (
        "AccountName=a;AccountKey={v};EndpointSuffix=x",
        "Ab1+" * 21 + "Ab==",
        "AccountKey=short",
    ),
    "sendgrid_key": ("k {v}", "SG." + "Ab1-" * 5 + "Ab." + "Ab1_" * 10 + "Abc", "SG.short"),
    "twilio_api_key": ("k {v}", "SK" + "9f3a71c2e8d04b56a1f7c39e20d8b4a6", "SKIP the line"),
    "url_credentials": (
        "postgres://app:{v}@db.internal:5432/x",
        "S3cr3tPassw0rd",
        "https://example.com/path:8080@v2",
    ),
    "bearer_token": ("Authorization: Bearer {v}", "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8", "bearer of bad news"),
    "generic_secret": ("DB_TOKEN={v}", "Zx9qLm2Pw7rT", "token=${DB_TOKEN}"),
    "password_assignment": (
        "PASS = '{v}'",
        "open_sesame",
        "export const API_KEY = process.env.OPENAI_API_KEY ?? '';",
    ),
    "cli_password": ("mysql -u root -p{v} db", "Tr0ub4dor&3", "mkdir -p src/components"),
    "cli_user_password": (
        "curl -u admin:{v} https://api.corp.example",
        "P@ssw0rd!2024",
        "curl -u $USER:$PASS https://api.corp.example",
    ),
    "k8s_secret_data": (
        "kind: Secret\ndata:\n  password: {v}\n",
        "czNjcjN0LXBhc3N3b3Jk",
        "kind: ConfigMap\ndata:\n  mode: cHJvZHVjdGlvbg==\n",
    ),
    "password_hash": (
        "root:{v}:19000:0:99999:7:::",
        "$6$rounds=5000$GX7BopJZJxPc/KEK$le16UF8I2Anb.rOrn22AUPWvzUETDGefUmAV8AZkGcD",
        "echo $1$2",
    ),
    "netrc_password": (
        "machine api.corp.example\n  login deploy\n  password {v}\n",
        "7cc938e45e63e9014f88",
        "login screen\n the password field is empty",
    ),
    "xml_key_value": (
        '<add key="SmtpPassword" value="{v}"/>',
        "Prestigitariu$",
        '<add key="SmtpPassword" value="$(SMTP_PASSWORD)"/>',
    ),
    "prefixed_token": (
        "IO_KEY {v}",
        "aio_NrZCb67VvzSaM7fr3nMXrfZ1uMPH",
        "get_user_by_identifier_and_organisation",
    ),
    "teams_webhook": (
        "notify {v} done",
        "https://outlook.office.com/webhook/3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f@8e7d6c5b-4a39"
        "-4281-9f0e-d1c2b3a4f5e6/IncomingWebhook/9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d/0f1e2d3c",
        "https://outlook.office.com/webhook/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    ),
    "easypost_key": (
        "key {v}",
        "EZTK" + "Zq8rT2mWx9Lk4Pv7Ns3Bh6JdQ1fXc5YgH6jQ0aB3dE5fG7hJ9kL1mN",
        "EZTK" + "x" * 54,
    ),
    "intra42_secret": ("s {v}", "s-s4t2ud-" + "9e8369750ea89017" * 4, "s-s4t2ud-short"),
    "vault_unseal_key": (
        "vault operator unseal {v}",
        "q7Rk2LmW9xTz4Bn8Vc3Yh6Jd1Fs5Gp0Ae2Ku7Nw4Hz9P",
        "vault operator unseal -reset",
    ),
    "connection_string_password": (
        "Server=db;User Id=svc;Password={v};",
        "Kq7-Lm2z",
        "Server=db;User Id=svc;Password=$(DB_PASSWORD);",
    ),
    "email": ("mail {v} now", "jane.doe42@corp.example", "decorator @dataclass(frozen=True)"),
    "card_number": ("card {v} ok", CARD, CARD[:-1] + str((int(CARD[-1]) + 1) % 10)),
    "iban": ("pay {v} now", iban(RNG, "GB"), "GB00WEST12345698765432"),
    "us_ssn": ("ssn {v}", "123-45-6789", "000-12-3456"),
    "phone": ("call {v}", "+1 (415) 555-0134", "version 2024-11-21"),
    "ipv4": ("ip {v} blocked", "34.201.7.19", "127.0.0.1"),
    "ipv6": ("peer {v} up", "2600:1f18:a1b:2c:3d4e:5f:6a7b:8c9d", "std::vector and 12:30:45"),
}


def test_every_registered_rule_has_a_case() -> None:
    assert set(CASES) == set(REGISTRY)


@pytest.fixture(scope="module")
def red() -> Redactor:
    return Redactor(key=b"test-key")


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_redacts_the_secret(red: Redactor, name: str) -> None:
    template, secret, _ = CASES[name]
    text = template.replace("{v}", secret).encode()
    out = red.redact_text(text)
    assert secret.encode() not in out
    assert b"[REDACTED:" in out


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_leaves_the_look_alike(red: Redactor, name: str) -> None:
    look_alike = CASES[name][2].encode()
    assert red.redact_text(b"see " + look_alike + b" here") == b"see " + look_alike + b" here"


def test_marker_is_keyed_and_correlates(red: Redactor) -> None:
    a = red.redact_text(b"x jane@corp.io y jane@corp.io")
    markers = a.split(b" ")[1::2]
    assert markers[0] == markers[1] and markers[0].startswith(b"[REDACTED:email:")
    assert len(markers[0]) == len(b"[REDACTED:email:]") + 8
    other = Redactor(key=b"another-key").redact_text(b"x jane@corp.io")
    assert other.split(b" ")[1] != markers[0]


def test_structural_look_alikes_survive(red: Redactor) -> None:
    text = (
        b"commit 3f786850e387550fdab836ed7e6dc881de23001b uuid 6f1c2a4e-9b7d-4c3e-8a21-5d4f3b2a1c0e "
        b"digest sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 "
        b"blob aGVsbG8gd29ybGQgdGhpcyBpcyBhIGJhc2U2NCBibG9iIG9mIHRleHQ= ts 1763700000000 "
        b"cost 0.0639588249999999 v1.2.3"
    )
    assert red.redact_text(text) == text


def test_custom_rule_and_allowlist_from_config() -> None:
    cfg = parse_redaction(
        {
            "custom_rules": [
                {"name": "ticket", "kind": "internal_ticket", "pattern": r"SEC-\d{5}", "keyword": "SEC-"},
                {"name": "codename", "kind": "codename", "pattern": r"Project[A-Z][a-z]+"},
            ],
            "allowlist": {"values": ["ops@corp.example"], "regexes": [r".*@example\.org"]},
        }
    )  # fmt: skip
    red = Redactor(cfg, key=b"k")
    out = red.redact_text(b"SEC-12345 ProjectFalcon ops@corp.example a@example.org b@corp.io")
    assert b"SEC-12345" not in out and b"ProjectFalcon" not in out
    assert b"ops@corp.example" in out and b"a@example.org" in out and b"b@corp.io" not in out
    assert red.counts["internal_ticket"] == 1 and red.counts["codename"] == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"custom_rules": [{"name": "x", "kind": "k", "pattern": "("}]}, "redaction.custom_rules.0.pattern"),
        ({"custom_rules": [{"name": "x", "pattern": "a"}]}, "redaction.custom_rules.0.kind"),
        ({"allowlist": {"regexes": ["[z"]}}, "redaction.allowlist.regexes"),
        ({"bogus": 1}, "redaction.bogus"),
    ],
)  # fmt: skip
def test_config_errors_are_one_line_and_name_the_key(raw: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_redaction(raw, "c.yaml")
    msg = str(exc.value)
    assert msg.startswith(f"c.yaml: {expected}") and "\n" not in msg


def test_retention_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"^c.yaml: retention.raw_days: "):
        parse_retention({"raw_days": -1}, "c.yaml")
    assert parse_retention({"legal_holds": {"users": ["ann"]}}, "c").legal_holds.users == ["ann"]


def test_redaction_key_env_wins(monkeypatch) -> None:
    cfg = parse_redaction({"key": "from-config"})
    monkeypatch.delenv("COMPLIANCE_REDACTION_KEY", raising=False)
    assert redaction_key(cfg) == b"from-config"
    monkeypatch.setenv("COMPLIANCE_REDACTION_KEY", "from-env")
    assert redaction_key(cfg) == b"from-env"
    monkeypatch.delenv("COMPLIANCE_REDACTION_KEY")
    with pytest.raises(ConfigError, match="COMPLIANCE_REDACTION_KEY"):  # never derived
        redaction_key(parse_redaction({}), "bucket-a")
