"""Redaction rules: a registry of named, schema-validated specs (Cloud Custodian style).

Each rule has a *prefilter* (a Hyperscan regex: loose, no look-arounds, found in raw bytes
at GB/s) and a *pattern* (a precise Python regex run only in a window around a prefilter
hit), plus an optional validator (Luhn, IBAN mod-97, entropy, address parsing).
Most vendor token rules come from an installed rule source at run time (sources.py); this
registry keeps what no source covers or what we check more strictly, and keywords.py adds
the credentials found by context.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from tasks.retention.pem import PEM_PATTERN
from tasks.retention.validators import VALIDATORS


class RuleSpec(BaseModel):
    model_config = {"extra": "forbid", "frozen": True}

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    category: Literal["secret", "pii", "custom"] = "secret"
    pattern: str
    prefilter: str
    group: int = 0  # which regex group is the secret (0 = the whole match)
    validator: str | None = None
    window: int = Field(
        400, ge=16
    )  # bytes around a prefilter hit the pattern may span (see confirm.thin)
    hs_prefilter_mode: bool = False  # compile `prefilter` with HS_FLAG_PREFILTER
    source: str = "compliance-jobs"  # who wrote the rule: us, or an installed package==version

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value.encode())
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return value

    @field_validator("validator")
    @classmethod
    def _known_validator(cls, value: str | None) -> str | None:
        if value is not None and value not in VALIDATORS:
            raise ValueError(f"unknown validator {value!r}")
        return value


REGISTRY: dict[str, RuleSpec] = {}


def register(**fields: object) -> RuleSpec:
    rule = RuleSpec(**fields)
    if rule.name in REGISTRY:
        raise ValueError(f"duplicate redaction rule {rule.name}")
    REGISTRY[rule.name] = rule
    return rule


# Secret values run to a delimiter; `\\` keeps JSON escapes (\" \n) out of the value.
_END = r"(?![A-Za-z0-9_\-])"

# --- secrets (order = priority when two rules claim overlapping text) -----------------
register(
    name="private_key",
    kind="private_key",
    pattern=PEM_PATTERN,  # confirmed by pem.PemPattern: the same matches in linear time
    prefilter=r"PRIVATE KEY",
    window=12400,
)
register(
    name="aws_access_key_id",
    kind="aws_access_key_id",
    # every AWS unique-id prefix (keys, users, roles, groups, instance profiles)
    pattern=r"\b(?:A3T[A-Z0-9]|A(?:BIA|CCA|GPA|IDA|IPA|KIA|NPA|NVA|PKA|ROA|SCA|SIA))[A-Z2-7]{16}\b",
    prefilter=r"(?:A3T[A-Z0-9]|A(?:BIA|CCA|GPA|IDA|IPA|KIA|NPA|NVA|PKA|ROA|SCA|SIA))[A-Z2-7]{4}",
    window=32,  # the prefilter ends 8 bytes into a 20-byte id
)
register(
    name="aws_secret_near_key_id",
    kind="aws_secret_access_key",
    pattern=(
        r"(?:AKIA|ASIA)[A-Z2-7]{16}[\s\S]{1,200}?(?<![A-Za-z0-9/+])"
        r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
    ),
    prefilter=r"(?:AKIA|ASIA)[A-Z2-7]{4}",
    group=1,
    validator="aws_secret",
)
register(
    name="aws_secret_access_key",
    kind="aws_secret_access_key",
    pattern=(
        r"(?i)aws.{0,25}?(?:secret|sk).{0,25}?[\s'\"=:\\]{1,8}"
        r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
    ),
    prefilter=r"(?i)aws.{0,25}?(?:secret|sk)",
    group=1,
    validator="aws_secret",
)
register(
    name="github_token",
    kind="github_token",
    pattern=r"\b(?:ghp|gho|ghu|ghs|ghr)_[0-9a-zA-Z]{36}\b",
    prefilter=r"gh[pousr]_[0-9a-zA-Z]{4}",
)
register(
    name="github_fine_grained_pat",
    kind="github_token",
    pattern=r"\bgithub_pat_\w{82}\b",
    prefilter=r"github_pat_",
)
register(
    name="gitlab_token",
    kind="gitlab_token",
    pattern=r"\b(?:glpat|gldt|glrt|glptt|glsoat|glft|glimt|glcbt|gloas)-[\w.-]{20,64}" + _END,
    prefilter=r"gl(?:pat|dt|rt|ptt|soat|ft|imt|cbt|oas)-",
)
register(
    name="slack_token",
    kind="slack_token",
    pattern=r"\b(?:xox[abposre]|xapp)-[0-9A-Za-z-]{10,250}" + _END,
    prefilter=r"xox[abposre]-|xapp-",
    validator="slack",
)
register(
    name="slack_webhook",
    kind="slack_webhook",
    pattern=r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,80}",
    prefilter=r"hooks\.slack\.com/",
)
register(
    name="stripe_key",
    kind="stripe_key",
    pattern=r"\b(?:sk|rk|pk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}\b",
    prefilter=r"(?:sk|rk|pk)_(?:test|live|prod)_",
)
register(
    name="anthropic_key",
    kind="anthropic_key",
    pattern=r"\bsk-ant-(?:api03|admin01|oat01|sid01)-[a-zA-Z0-9_\-]{32,120}" + _END,
    prefilter=r"sk-ant-(?:api03|admin01|oat01|sid01)-",
)
register(
    name="openai_key",
    kind="openai_key",
    pattern=(
        r"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{32,200}"
        r"|[a-zA-Z0-9]{20}T3BlbkFJ[a-zA-Z0-9]{20}|[A-Za-z0-9]{48})" + _END
    ),
    prefilter=r"sk-[A-Za-z0-9_-]{20}",
)
register(
    name="openrouter_key",
    kind="openrouter_key",
    pattern=r"\bsk-or-v1-[0-9a-f]{64}\b",
    prefilter=r"sk-or-v1-",
)
register(
    name="google_api_key",
    kind="google_api_key",
    pattern=r"\bAIza[\w-]{35}" + _END,
    prefilter=r"AIza",
)
register(
    name="npm_token",
    kind="npm_token",
    pattern=r"\bnpm_[a-zA-Z0-9]{36}\b",
    prefilter=r"npm_[a-zA-Z0-9]{8}",
)
register(
    name="pypi_token",
    kind="pypi_token",
    pattern=r"pypi-AgEIcHlwaS5vcmc[\w-]{50,300}",
    prefilter=r"pypi-AgEIcHlwaS5vcmc",
)
register(
    name="jwt",
    kind="jwt",
    pattern=r"\bey[A-Za-z0-9_-]{10,}\.ey[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{8,}={0,2}",
    prefilter=r"eyJ[A-Za-z0-9_-]{4}",
    window=4000,
)
register(
    name="azure_storage_key",
    kind="azure_storage_key",
    pattern=r"(?i)AccountKey=([a-zA-Z0-9+/]{86,88}={0,2})",
    prefilter=r"(?i)AccountKey=",
    group=1,
)
register(
    name="sendgrid_key",
    kind="sendgrid_key",
    pattern=r"\bSG\.[\w-]{22}\.[\w-]{43}" + _END,
    prefilter=r"SG\.[\w-]{4}",
)
register(
    name="twilio_api_key",
    kind="twilio_api_key",
    pattern=r"\bSK[0-9a-fA-F]{32}\b",
    prefilter=r"SK[0-9a-fA-F]{8}",
)
register(
    name="url_credentials",
    kind="url_credentials",
    # not to a documentation address (RFC 3849, RFC 5737): an example in a manual
    pattern=(
        r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://([^\s:/@'\"\\]{1,64}:[^\s@/'\"\\]{1,128})@"
        r"(?!\[2001:db8:|192\.0\.2\.|198\.51\.100\.|203\.0\.113\.)[A-Za-z0-9\[.-]"
    ),
    prefilter=r":[^\s@/'\"\\:]{1,128}@",
    group=1,
    validator="userinfo",
)
register(
    name="bearer_token",
    kind="bearer_token",
    pattern=r"(?i)\bbearer[:\s]\s*([A-Za-z0-9._~+/-]{12,}=*)",
    prefilter=r"(?i)bearer[:\s]",
    group=1,
    validator="entropy3",
)
# vendor tokens no installed rule source knows (credsweeper 1.19.5 has no rule for them)
register(
    name="teams_webhook",
    kind="webhook_url",
    # Microsoft Teams incoming webhooks: whoever holds the URL posts into the channel
    pattern=(
        r"(?:https?://)?(?:outlook\.office(?:365)?\.com/webhook|[\w-]+\.webhook\.office\.com/webhookb2)"
        r"/[A-Za-z0-9@/_-]{30,400}"
    ),
    prefilter=r"outlook\.office(?:365)?\.com/webhook/|\.webhook\.office\.com/webhookb2/",
    validator="not_placeholder",
)
register(
    name="easypost_key",
    kind="easypost_key",
    pattern=r"\bEZ[AT]K[a-zA-Z0-9]{54}\b",
    prefilter=r"EZ[AT]K[a-zA-Z0-9]{8}",
    validator="not_placeholder",
)
register(
    name="intra42_secret",
    kind="intra42_secret",
    pattern=r"\bs-s4t2(?:ud|af)-[a-f0-9]{64}\b",
    prefilter=r"s-s4t2(?:ud|af)-",
)
register(
    name="vault_unseal_key",
    kind="vault_unseal_key",
    pattern=(
        r"(?i)(?:unseal key \d{1,2}:|operator unseal)[ \t]+"
        r"(?P<value>[A-Za-z0-9+/]{43,44}={0,2})(?![A-Za-z0-9+/])"
    ),
    prefilter=r"(?i)unseal key \d|operator unseal",
    group=1,
    validator="not_placeholder",
)
register(
    name="connection_string_password",
    kind="password",
    # `Server=…;User Id=…;Password=…;` (ADO.NET, ODBC, JDBC): a field of a literal string,
    # never a code reference, so any value but a template is the password
    pattern=(
        r"(?i)(?:server|data source|host|user id|uid|database|initial catalog)=[^;\n\"']{0,200};"
        r"(?:[ \t]*[\w ]{1,40}=[^;\n\"']{0,200};){0,10}?[ \t]*(?:password|pwd)="
        r"(?P<value>[^;\n\"'\s\\]{1,200})"
    ),
    prefilter=r"(?i);[ \t]*(?:password|pwd)=",
    group=1,
    validator="literal",
)
# --- personal data ---------------------------------------------------------------------
register(
    name="email",
    kind="email",
    category="pii",
    pattern=r"(?<![\w.%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b",
    prefilter=r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]",
)
register(
    name="card_number",
    kind="card_number",
    category="pii",
    pattern=r"(?<![\w.,-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\w]|[.,]\d)",
    prefilter=r"\b[2-6]\d{3}[ -]?\d{4}[ -]?\d{4}",
    validator="luhn",
    window=48,  # the whole value is at most 23 bytes
)
register(
    name="iban",
    kind="iban",
    category="pii",
    pattern=r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
    prefilter=r"\b[A-Z]{2}\d{2} ?[A-Z0-9]{4}",
    validator="iban",
    window=48,  # the whole value is at most 42 bytes with spaces
)
register(
    name="us_ssn",
    kind="us_ssn",
    category="pii",
    pattern=r"(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-])",
    prefilter=r"\d{3}-\d{2}-\d{4}",
    validator="ssn",
    window=24,  # the whole value is 11 bytes
)
register(
    name="phone",
    kind="phone",
    category="pii",
    pattern=(
        r"(?<![\w+.])(?:\+\d{1,3}[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]\d{3}[ .-]\d{4}(?![\w])"
        r"|(?<![\w+])\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(?\d{1,5}\)?){2,6}(?![\w])"
    ),
    prefilter=r"\d{3}[ .-]\d{4}|\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?\(?\d{1,5}[ .)-]",
    validator="phone",
    window=64,  # the whole value is at most ~40 bytes
)
register(
    name="ipv4",
    kind="ipv4",
    category="pii",
    # a version is not an address: `v4.2.0.1`, `pip==23.0.1.2`, `node@18.17.1.0`, `version 1.2.3.4`
    pattern=(
        r"(?<![\w.=@])(?<![vV]\.)(?<!(?i:version) )(?<!(?i:version): )"
        r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?!\w|\.\d)"
    ),
    prefilter=r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}",
    validator="ipv4",
    window=40,  # the whole value is at most 15 bytes
)
register(
    name="ipv6",
    kind="ipv6",
    category="pii",
    pattern=r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])",
    prefilter=r"[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}|::[0-9A-Fa-f]{1,4}",
    validator="ipv6",
    window=64,  # the whole value is at most 39 bytes
)

# Documented example values (AWS docs, jwt.io, Stripe docs) are not secrets.
DEFAULT_ALLOW_VALUES = frozenset(
    {
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "git@github.com",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
)
DEFAULT_ALLOW_REGEXES = (r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{9,}EXAMPLE", r".*EXAMPLEKEY")

# keyword-context credentials live in their own module; importing it registers them
from tasks.retention import keywords  # noqa: E402,F401
