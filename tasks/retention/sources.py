"""Secret rules loaded at run time from an installed, pinned scanner package.

The rule text stays in the package (credsweeper's rules/config.yaml); nothing is copied into
this repository. Each loaded rule becomes a RuleSpec:
- pattern: the package's own regex, run by Python `re` only in a bounded window;
- prefilter: a Hyperscan expression derived from that regex: named groups made plain,
  look-arounds and back-references dropped, and the regex cut at its first long repeat
  (a prefix of a concatenation matches wherever the whole does, so the prefilter is looser,
  never stricter, and its matches stay short, so Hyperscan reports few end offsets).
  A regex Hyperscan still refuses falls back to the rule's required substrings.

Which rules: the pattern rules the package runs without its ML model (type `pattern`,
`pem_key` and the first regex of `multi`, `use_ml` off) and the keyword-context ones
whose regex names a value group, gated by our secret_value validator instead of the model.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import re._constants as sc
import re._parser as sp
from functools import lru_cache
from typing import Any

import yaml

from tasks.retention.rules import RuleSpec

SOURCE = "credsweeper"
MAX_FIXED = 64  # longer counted repeats become open-ended (cheap for Hyperscan)
MAX_WINDOW = 9000  # the longest value a loaded rule may span (their repeats stop at 8000)
# ML-gated rules taken anyway, behind the entropy/character-class gate (keyword context)
KEYWORD_RULES = frozenset({"CURL User Password", "URL Credentials", "CMD Password", "CMD Token", "CMD Secret", "CMD ConvertTo-SecureString"})  # fmt: skip
# UUIDs, ids and domains identify no one and open nothing; PEM keys: our private_key rule
# spans the whole block (theirs matches the header line)
SKIP = frozenset({"UUID", "Product Activation Key", "AWS S3 Bucket", "Firebase Domain"})
# families our registry already confirms (rules.py, keywords.py), with a stricter gate or a
# wider span: the source's copy would confirm the same token a second time (15)
COVERED = frozenset({
    "cs_aws_multi", "cs_aws_client_id", "cs_google_api_key", "cs_sendgrid_api_key", "cs_slack_token",
    "cs_slack_webhook", "cs_npm_token", "cs_github_classic_token",
    "cs_github_fine_granted_token", "cs_openai_token", "cs_openrouter_api_key",
    "cs_anthropic_api_key", "cs_azure_access_token", "cs_url_credentials",
    "cs_bearer_authorization",
})  # fmt: skip


def source_version() -> str:
    return md.version(SOURCE)


@lru_cache(maxsize=1)
def raw_rules() -> list[dict[str, Any]]:
    path = md.distribution(SOURCE).locate_file("credsweeper/rules/config.yaml")
    with open(str(path), encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def provenance() -> dict[str, Any]:
    return {"source": SOURCE, "version": source_version(), "rules": len(loaded_rules())}


def rule_sources() -> list[dict[str, Any]]:
    """What every redaction summary/manifest records: who wrote the rules, which version."""
    from tasks.retention.rules import REGISTRY

    return [provenance(), {"source": "compliance-jobs", "version": "registry", "rules": len(REGISTRY)}]  # fmt: skip


def _slug(name: str) -> str:
    return "cs_" + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@lru_cache(maxsize=1)
def loaded_rules() -> tuple[RuleSpec, ...]:
    out: list[RuleSpec] = []
    for rule in raw_rules():
        name = rule["name"]
        if name in SKIP or rule["type"] not in ("pattern", "multi"):
            continue
        keyword = name in KEYWORD_RULES
        if rule.get("use_ml") and not keyword:
            continue
        if rule.get("confidence") == "weak" and not keyword:
            continue
        if _slug(name) in COVERED:
            continue
        regex = bound_repeats(rule["values"][0])
        try:
            compiled = re.compile(regex.encode())
        except re.error:
            continue
        group = compiled.groupindex.get("value", 0)
        prefilter = derive_prefilter(regex)
        if prefilter is None:
            subs = [re.escape(s) for s in rule.get("required_substrings", []) if s.isascii()]
            if not subs:
                continue
            prefilter = "(?i)(?:" + "|".join(subs) + ")"
        out.append(
            RuleSpec(
                name=_slug(name),
                kind=_slug(name),
                pattern=regex,
                prefilter=prefilter,
                group=group,
                validator="secret_value" if keyword else "not_placeholder",
                window=MAX_WINDOW if "8000" in regex else 1200,
                source=f"{SOURCE}=={source_version()}",
            )
        )
    return tuple(out)


# --- linear confirmation: every repeat bounded --------------------------------------
OPEN_BOUND = 256  # `*` / `+` / `{n,}` become `{0,256}` / `{1,256}` / `{n,256}`
MAX_BOUND = 1024  # and `{a,8000}` becomes `{a,1024}`: per start position the work is bounded


def bound_repeats(regex: str) -> str:
    """The same regex with bounded repeats. Python's `re` backtracks: an open `.*` in a
    window holding many starts (a 62 KB line of near misses) costs start x line, so the
    cost of a window grows with its square; with every repeat bounded it grows linearly."""
    out: list[str] = []
    i, n, in_class = 0, len(regex), False
    while i < n:
        ch = regex[i]
        if ch == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if regex[i + 1 : i + 2] == "]" or regex[i + 1 : i + 3] == "^]":
                out.append(regex[i : i + 2 + (regex[i + 1] == "^")])
                i += 2 + (regex[i + 1] == "^")
                continue
        elif ch in "*+" and out and out[-1] not in ("(", "|") and not out[-1].endswith("(?"):
            out.append(f"{{{0 if ch == '*' else 1},{OPEN_BOUND}}}")
            i += 1
            continue
        elif ch == "{":
            m = re.match(r"\{(\d+),(\d*)\}", regex[i:])
            if m:
                lo, hi = int(m.group(1)), m.group(2)
                top = OPEN_BOUND if not hi else min(int(hi), max(MAX_BOUND, lo))
                out.append(f"{{{lo},{max(top, lo)}}}")
                i += m.end()
                continue
        out.append(ch)
        i += 1
    return "".join(out)


# --- prefilter derivation: Python regex -> a looser Hyperscan expression ----------------
class _Cut(Exception):
    """Raised to end the prefilter at this element (everything before it is kept)."""


def derive_prefilter(regex: str) -> str | None:
    try:
        parsed = sp.parse(regex)
    except re.error:
        return None
    flags = "(?i)" if parsed.state.flags & sc.SRE_FLAG_IGNORECASE else ""
    items = list(parsed)
    # leading boundaries (`(?:^|/|[^\\w]|…)`) can match empty: dropping a leading element
    # only loosens the prefilter
    while items and _matches_empty(_seq([items[0]])[0]):
        items.pop(0)
    while items and _matches_empty(_seq([items[-1]])[0]):  # trailing optional parts too
        items.pop()
    text, _ = _seq(items)
    if _matches_empty(text) or len(re.sub(r"[^A-Za-z0-9]", "", text)) < 3:
        return None  # too loose to be worth a prefilter
    return flags + text


def _matches_empty(text: str) -> bool:
    try:
        return re.fullmatch(text, "") is not None
    except re.error:
        return True


def _seq(items, tail: bool = True) -> tuple[str, bool]:
    items = list(items)
    while tail and items and _matches_empty(_seq([items[-1]], False)[0]):
        items.pop()  # in tail position an optional suffix adds nothing but matches
    out = []
    last = len(items) - 1
    for i, (op, av) in enumerate(items):
        try:
            out.append(_item(op, av, tail and i == last))
        except _Cut as cut:
            out.append(cut.args[0] if cut.args else "")
            return "".join(out), True
    return "".join(out), False


def _lit(code: int) -> str:
    ch = chr(code)
    if ch.isalnum() and ch.isascii():
        return ch
    return f"\\x{code:02x}" if code < 256 else "."


_CATS = {
    sc.CATEGORY_DIGIT: r"\d",
    sc.CATEGORY_NOT_DIGIT: r"\D",
    sc.CATEGORY_WORD: r"\w",
    sc.CATEGORY_NOT_WORD: r"\W",
    sc.CATEGORY_SPACE: r"\s",
    sc.CATEGORY_NOT_SPACE: r"\S",
}


def _class(av) -> str:
    parts = []
    for op, v in av:
        if op is sc.NEGATE:
            parts.insert(0, "^")
        elif op is sc.LITERAL:
            parts.append(_lit(v))
        elif op is sc.RANGE:
            parts.append(f"{_lit(v[0])}-{_lit(v[1])}")
        elif op is sc.CATEGORY:
            parts.append(_CATS[v])
        else:
            raise _Cut()
    return "[" + "".join(parts) + "]"


def _item(op, av, tail: bool) -> str:
    """One element; `tail`: nothing follows it in the prefilter, so a repeat here ends at
    its minimum (else Hyperscan reports a match at every byte of a long run)."""
    if op is sc.LITERAL:
        return _lit(av)
    if op is sc.NOT_LITERAL:
        return f"[^{_lit(av)}]"
    if op is sc.ANY:
        return "."
    if op is sc.IN:
        return _class(av)
    if op is sc.CATEGORY:
        return _CATS[av]
    if op is sc.AT or op in (sc.ASSERT, sc.ASSERT_NOT):
        return ""  # anchors and look-arounds only narrow a match: drop them
    if op is sc.SUBPATTERN:
        text, cut = _seq(av[-1], tail)
        flag = "?i:" if av[1] & sc.SRE_FLAG_IGNORECASE else "?:"
        if cut:
            raise _Cut(f"({flag}{text})")
        return f"({flag}{text})"
    if op is sc.BRANCH:
        alts = [_seq(a, tail) for a in av[1]]
        text = "(?:" + "|".join(a for a, _ in alts) + ")"
        if any(c for _, c in alts):
            raise _Cut(text)
        return text
    if op in (sc.MAX_REPEAT, sc.MIN_REPEAT, getattr(sc, "POSSESSIVE_REPEAT", None)):
        lo, hi, sub = av
        body, cut = _seq(sub, False)
        body = f"(?:{body})"
        if cut:
            raise _Cut(body if lo else "")
        lo = min(lo, MAX_FIXED)
        if tail:
            raise _Cut(f"{body}{{{lo}}}" if lo else "")
        if hi is sc.MAXREPEAT or hi > MAX_FIXED:
            return f"{body}{{{lo},}}"
        return f"{body}{{{lo},{hi}}}"
    raise _Cut()  # back-references, conditionals: stop here
