"""Precise confirmations run after the fast prefilter: checksums, entropy, address parsing.

Each validator takes the candidate value (str) and returns True when it really is the
thing the rule names. Registered by name so rule specs (and config) can refer to them.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable

VALIDATORS: dict[str, Callable[[str], bool]] = {}
# validators that reject placeholders themselves (the engine need not check again)
PLACEHOLDER_CHECKED = frozenset(
    {"password_value", "secret_value", "random_tail", "not_placeholder", "slack"}
)


def validator(name: str) -> Callable[[Callable[[str], bool]], Callable[[str], bool]]:
    def deco(func: Callable[[str], bool]) -> Callable[[str], bool]:
        VALIDATORS[name] = func
        return func

    return deco


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


@validator("luhn")
def luhn_ok(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ISO 13616 lengths for the countries we expect to meet (unknown countries are rejected).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24,
    "DE": 22, "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23,
    "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SA": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "TR": 26,
}  # fmt: skip


@validator("iban")
def iban_ok(value: str) -> int | bool:
    """Checksum-valid IBAN at the start of value; returns its length in value (trims)."""
    want = IBAN_LENGTHS.get(value[:2].upper())
    if want is None:
        return False
    kept, n = 0, 0
    for i, ch in enumerate(value):
        if ch.isalnum():
            n += 1
            if n == want:
                kept = i + 1
                break
    if not kept:
        return False
    iban = re.sub(r"[ \-]", "", value[:kept]).upper()
    moved = iban[4:] + iban[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in moved))
    except ValueError:
        return False
    if number % 97 != 1:
        return False
    return True if kept == len(value) else kept


@validator("ssn")
def ssn_ok(value: str) -> bool:
    area, group, serial = value.split("-")
    if area in ("000", "666") or area.startswith("9"):
        return False
    return group != "00" and serial != "0000"


@validator("ipv4")
def ipv4_ok(value: str) -> bool:
    try:
        addr = ipaddress.IPv4Address(value)
    except ValueError:
        return False
    # loopback / unspecified / broadcast identify nobody
    return not (addr.is_loopback or addr.is_unspecified or value == "255.255.255.255")


_DOC_V6 = ipaddress.IPv6Network("2001:db8::/32")


@validator("ipv6")
def ipv6_ok(value: str) -> bool:
    if sum(c.isalnum() for c in value) < 4:
        return False  # `a::b`-like code tokens
    try:
        addr = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    if addr in _DOC_V6:
        return False  # RFC 3849 documentation prefix: an example, nobody's address
    return not (addr.is_loopback or addr.is_unspecified)


@validator("phone")
def phone_ok(value: str) -> bool:
    """A number libphonenumber calls valid (`+…` in its own country's plan, else read as a
    NANP number: the rule takes bare 3-3-4 groups only), or any well-formed NANP number."""
    import phonenumbers

    digits = sum(c.isdigit() for c in value)
    if not 8 <= digits <= 15:
        return False
    try:
        num = phonenumbers.parse(value, None if value.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return False
    if phonenumbers.is_valid_number(num):
        return True
    # NANP numbers from ranges the library does not list yet: still somebody's number
    national = str(num.national_number)
    return num.country_code == 1 and bool(re.fullmatch(r"[2-9]\d{2}[2-9]\d{6}", national))


def load_before_fork() -> None:
    """Load what phone_ok imports on first use (libphonenumber's code and the US plan) in
    the parent, so forked workers inherit it rather than each loading it again."""
    phone_ok("(415) 555-2671")


@validator("entropy3")
def entropy3(value: str) -> bool:
    return len(value) >= 8 and shannon_entropy(value) >= 3.0


def is_reference(value: str) -> bool:
    """Code and template references, type names, identifiers naming a credential."""
    v = value.strip("\"'`:")
    if REFERENCE.match(v) or PLACEHOLDER.match(v):
        return True
    if DOTTED.match(v) and not any(sum(c.isdigit() for c in seg) >= 3 for seg in v.split(".")):
        return True  # request.form.get, config.db.password, process.env.X
    # SUMO_ACCESS_KEY, access_token, hashedPassword
    return bool(ENV_NAME.match(v) or CREDENTIAL_NAME.search(v) and IDENT.match(v))


def is_placeholder(value: str) -> bool:
    """xxxx…, ****, aaaa…, EXAMPLE, your-api-key: values that stand in for a secret."""
    low = value.lower()
    if "xxxx" in low or "****" in value or "example" in low or "your" in low and "-" in low:
        return True
    if value.endswith(("..", "\u2026")) or any(run in value for run in _TYPED_RUNS):
        return True
    if _MASKED.search(value) or "here" in low and _HERE.search(value):
        return True  # masked for display; `…TokenHere`, `your_key_here` (the case-blind
        # regex costs ~50 ns a byte; no text lacking `here` once lowered can match it)
    if len(value) < 8:
        return False
    counts = Counter(value)
    return len(counts) <= 3 or counts.most_common(1)[0][1] > 0.6 * len(value)


_HERE = re.compile(r"(?i)(?:token|key|secret|passw\w*|value|string|id)[_\-]?here\b")


def _walk(value: str) -> float:
    """Share of neighbouring characters that follow each other in the alphabet or digits
    (case ignored): ~0.03 for generated text, most of a typed run like AbCeFG123."""
    low = value.lower()
    steps = sum(
        1 for a, b in zip(low, low[1:], strict=False) if a.isalnum() and ord(b) - ord(a) == 1
    )
    return steps / (len(low) - 1)


_MASKED = re.compile(r"([^A-Za-z0-9])\1{5}")  # ######, ------: a masked stretch (AAAAAA is base64)
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# every 7-character slice of a typed sequence (44 substring tests in C beat a regex)
_TYPED_RUNS = tuple(sorted({q[i : i + 7] for q in _SEQUENCES for i in range(len(q) - 6)}))


@validator("slack")
def slack_ok(value: str) -> bool:
    """Slack tokens carry 10+ digit team/user ids, or are long random configuration tokens."""
    if is_placeholder(value):
        return False
    return bool(re.search(r"\d{10}", value)) or len(value) >= 40 and shannon_entropy(value) >= 4.0


@validator("password_value")
def password_value_ok(value: str) -> bool:
    """After a password keyword anything literal of 6+ characters is the password."""
    return len(value) >= 6 and not is_reference(value) and not is_placeholder(value)


@validator("secret_value")
def secret_value_ok(value: str) -> bool:
    """Generic assignment values: high entropy, not a placeholder or a reference."""
    if len(value) < 8 or is_reference(value) or is_placeholder(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if value.isdigit():
        return len(value) >= 15  # client ids, account numbers; not timestamps
    if len(value) < 12 and _walk(value) >= 0.5:
        return False  # AbCeFG123: a short alphabet-and-digits run typed as an example
    ent = shannon_entropy(value)
    if (has_digit and has_alpha and ent >= 3.0) or ent >= 3.5 and not value.isalpha():
        return True
    # letters only: random when both cases are mixed through it (no word-like lowercase run)
    runs = re.findall(r"[a-z]+", value)
    upper = sum(c.isupper() for c in value)
    words = sum(len(r) >= 3 for r in runs)  # getUserNameById has three
    return len(value) >= 12 and ent >= 3.5 and upper >= 3 and words <= 1


@validator("random_tail")
def random_tail_ok(value: str) -> bool:
    """The part after the last `_`/`-` of a prefixed token is random: mixed case, digits."""
    tail = re.split(r"[_-]", value)[-1]
    if len(tail) < 20 or is_placeholder(value):
        return False
    digits = sum(c.isdigit() for c in tail)
    upper = sum(c.isupper() for c in tail)
    lower = sum(c.islower() for c in tail)
    if _encoded_host(tail):
        return False
    return digits >= 2 and upper >= 2 and lower >= 2 and shannon_entropy(tail) >= 4.0


_B64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}")
_HOST_TEXT = re.compile(rb"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def _encoded_host(value: str) -> bool:
    """The value's base64 part decodes to a bare host name (`bedrock.amazonaws.com`): text
    that names a service and holds no key material."""
    import base64
    import binascii

    m = _B64_RUN.search(value)
    if not m or len(m.group()) > 64:
        return False
    run = m.group()
    try:
        raw = base64.b64decode(run[: len(run) // 4 * 4], validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(_HOST_TEXT.fullmatch(raw))


@validator("base64_text")
def base64_text_ok(value: str) -> bool:
    """A base64 value that decodes to text (a Kubernetes Secret's password, user:pass…)."""
    import base64
    import binascii

    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return len(raw) >= 16  # binary key material
    return len(text) >= 3 and text.isprintable() and not is_placeholder(text)


@validator("literal")
def literal_ok(value: str) -> bool:
    """A value where code cannot stand (a connection-string field): anything but a template."""
    return not value.startswith(("$", "%", "{", "<", "*"))


@validator("userinfo")
def userinfo_ok(value: str) -> bool:
    """`user:password` of a URL: the password is literal (not `${PASS}`, `secret`, `****`)."""
    password = value.partition(":")[2]
    return not (password.startswith(("$", "%", "{{", "<")) or is_placeholder(password))


@validator("not_placeholder")
def not_placeholder(value: str) -> bool:
    """Fixed-format tokens from a rule source: anything but a placeholder or repeats."""
    if len(set(value)) <= 4 or is_placeholder(value) or PLACEHOLDER.match(value):
        return False
    return not _encoded_host(value)


@validator("aws_secret")
def aws_secret_ok(value: str) -> bool:
    return len(value) == 40 and shannon_entropy(value) >= 4.0


REFERENCE = re.compile(
    r"^(?:\$|%|@|#\{|#[\w-]+$|\{\{|<|&|\*|process\.env|os\.environ|os\.getenv|env\.|ENV\[|getenv"
    r"|secrets\.|vars\.|self\.|this\.|args\.|params\.|props\.|settings\.|config\.|options\.)"
    r"|^(?i:string|str|bytes|int|bool|boolean|number|undefined|nil|optional|required|none|null"
    r"|true|false|text|varchar|password|secret|token|hidden|input|empty|default|dummy|sample"
    r"|placeholder|changeme|change_me|redacted|masked|test|foo|bar|baz|abc123|123456|admin)$"
)
DOTTED = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$-]*)+$")
ENV_NAME = re.compile(r"^[A-Z][A-Z_]*_[A-Z_]*$")
IDENT = re.compile(r"^[A-Za-z_][A-Za-z_]*[0-9]?$")
CREDENTIAL_NAME = re.compile(r"(?i)pass(?:word|wd)?|secret|token|key|credential|auth")

# placeholders gitleaks' global allowlist also skips: $VAR, ${VAR}, {{ x }}, %VAR%, <...>, ***
PLACEHOLDER = re.compile(
    r"^(?:\[REDACTED:.*|\$\{?[A-Za-z_][\w.]*\}?|\{\{.*\}\}|%[A-Za-z_]+%|<[^>]*>|\*+|x+|\.+|"
    r"(?i:true|false|null|none|changeme|password|redacted|example\w*|your[_-]?\w*))$"
)
