"""Build the foreign redaction corpus from third-party secret scanners' own rule tests.

Sources (read from git mirrors of the upstream repositories; the commit is recorded):
- gitleaks: cmd/generate/config/rules/*.go, the `tps` (must match) and `fps` (must not
  match) of every rule. Literal strings are taken as written; gitleaks' own sample
  generators (utils.GenerateSampleSecret(s), secrets.NewSecret(regex), utils.AlphaNumeric…)
  are evaluated the way its tests do, with a seeded random generator, and the templates are
  read from the same commit's generate.go / patterns.go. The secret inside a sample is the
  rule's own regex group (config/gitleaks.toml).
- Nosey Parker: crates/noseyparker/data/default/builtin/rules/*.yml, `examples` and
  `negative_examples`; the secret is the rule pattern's last capture group.

Every string keeps repository, commit, path, licence and rule id. The strings are then
planted into Roo Code task folders in every carrier (command output in ui_messages.json,
tool JSON, MCP `arguments` JSON-in-JSON-in-JSON, api_conversation_history.json, a command
output text file). Output: <out>/strings.json (the strings with provenance),
<out>/truth.json (what each planted message must lose or keep) and <out>/tasks/<id>/….

Usage: python scripts/build_foreign_corpus.py --gitleaks DIR --noseyparker DIR --out DIR
(DIR = a git directory, e.g. what the `fetch` tool returns).
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import random
import re
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

import orjson
import regex
import yaml
from foreign_go import GoEval  # scripts/foreign_go.py, next to this script

GITLEAKS = "gitleaks/gitleaks"
NOSEYPARKER = "praetorian-inc/noseyparker"
LICENCES = {GITLEAKS: "MIT", NOSEYPARKER: "Apache-2.0"}
NP_RULES = "crates/noseyparker/data/default/builtin/rules"
PER_RULE = 6  # at most this many positives and negatives per rule (keeps the corpus small)
PER_TASK = 40  # examples per task folder


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", repo, *args], capture_output=True, text=True, check=True
    ).stdout


def gitleaks_helpers(repo: str, commit: str) -> tuple[list[str], dict[str, str]]:
    gen = git(repo, "show", f"{commit}:cmd/generate/config/utils/generate.go")
    body = gen[gen.index("func GenerateSampleSecrets") :]
    body = body[: body.index("replacer :=")]
    templates = []
    for line in body.splitlines():
        line = line.strip()
        if line.startswith("//"):
            continue
        m = re.match(r'"[^"]*":\s*(".*"|`.*`),?$', line)
        if m:
            lit = m.group(1)
            templates.append(lit[1:-1] if lit.startswith("`") else ast.literal_eval(lit))
    pat = git(repo, "show", f"{commit}:cmd/generate/config/utils/patterns.go")
    helpers = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r"func (\w+)\([^)]*\) string \{\s*return (?:fmt\.Sprintf\()?`([^`]*)`", pat
        )  # fmt: skip
    }
    return templates, helpers


def go_regex(rx: str) -> regex.Pattern | None:
    try:
        return regex.compile(rx.replace(r"\z", r"\Z"))
    except regex.error:
        return None


def secret_in(
    rx: regex.Pattern | None, sample: str, group: int, generated: list[str]
) -> str | None:
    if rx is not None:
        try:
            m = rx.search(sample, timeout=2)
        except TimeoutError:
            m = None
        if m:
            if group and m.group(group):
                return m.group(group)
            groups = [g for g in m.groups() if g]
            return groups[0] if groups else m.group(0)
    hits = [g for g in generated if g in sample]
    return max(hits, key=len) if hits else None


def _spread(samples: list[str]) -> list[str]:
    """Round-robin over gitleaks' template blocks, so kept samples differ in their secret."""
    blocks = [samples[i : i + 25] for i in range(0, len(samples), 25)]
    return [b[i] for i in range(25) for b in blocks if i < len(b)]


def gitleaks_strings(repo: str, commit: str) -> list[dict[str, Any]]:
    templates, helpers = gitleaks_helpers(repo, commit)
    toml = tomllib.loads(git(repo, "show", f"{commit}:config/gitleaks.toml"))
    rules = {r["id"]: r for r in toml["rules"]}
    files = [f for f in git(repo, "ls-tree", "--name-only", commit, "cmd/generate/config/rules/").split() if f.endswith(".go") and not f.endswith("_test.go")]  # fmt: skip
    out: list[dict[str, Any]] = []
    for path in files:
        src = git(repo, "show", f"{commit}:{path}")
        for fn in re.split(r"\nfunc ", src)[1:]:
            rid = re.search(r'RuleID:\s*"([^"]+)"', fn)
            if not rid or rid.group(1) not in rules:
                continue
            rule = rules[rid.group(1)]
            rx = go_regex(rule.get("regex", ""))
            ev = GoEval(templates, helpers, random.Random(rid.group(1)))
            for m in re.finditer(r"^\s*(tps|fps)\s*:?=", fn, re.M):
                try:
                    name, values = ev.statement(fn, m.start())
                except (ValueError, KeyError, IndexError, SyntaxError):
                    continue
                ev.env[name] = values
            seen: set[str] = set()
            for name, label in (("tps", "positive"), ("fps", "negative")):
                kept = 0
                for sample in _spread(ev.env.get(name, [])):
                    if kept >= PER_RULE or sample in seen or not sample.strip():
                        continue
                    seen.add(sample)
                    item = {
                        "source": GITLEAKS, "commit": commit, "path": path,
                        "licence": LICENCES[GITLEAKS], "rule": rid.group(1),
                        "label": label, "text": sample,
                    }  # fmt: skip
                    if label == "positive":
                        value = secret_in(rx, sample, rule.get("secretGroup", 0), ev.generated)
                        if not value:
                            continue
                        item["value"] = value
                    out.append(item)
                    kept += 1
    return out


_SECRETISH = re.compile(r"(?i)secret|passw|token|key|credential|hash")
_NOT_SECRET = re.compile(r"(?i)host|user|name|port|\bid\b|domain|url|account")


def secret_group(pattern: str, m: regex.Match) -> int:
    """Nosey Parker marks groups with comments (`(?# password)`): take the secret one,
    else the last group that is not a host, user name or port."""
    notes: dict[int, str] = {}
    n = 0
    for line in pattern.splitlines():
        bare = re.sub(r"\[(?:\\.|[^\]])*\]", "", line)  # `(` inside a class opens nothing
        n += len(re.findall(r"(?<!\\)\((?!\?)", bare))
        note = re.search(r"\(\?#([^)]*)\)", line)
        if note and n:
            notes[n] = note.group(1)
    groups = [i for i in range(1, (m.re.groups or 0) + 1) if m.group(i)]
    for i in groups:
        if _SECRETISH.search(notes.get(i, "")):
            return i
    rest = [i for i in groups if not _NOT_SECRET.search(notes.get(i, ""))]
    return rest[-1] if rest else 0


def noseyparker_strings(repo: str, commit: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    paths = [p for p in git(repo, "ls-tree", "--name-only", commit, f"{NP_RULES}/").split() if p.endswith(".yml")]  # fmt: skip
    for path in paths:
        doc = yaml.safe_load(git(repo, "show", f"{commit}:{path}")) or {}
        for rule in doc.get("rules", []):
            try:
                rx = regex.compile(rule["pattern"])
            except regex.error:
                rx = None
            for label, key in (("positive", "examples"), ("negative", "negative_examples")):
                for sample in (rule.get(key) or [])[:PER_RULE]:
                    item = {
                        "source": NOSEYPARKER, "commit": commit, "path": path,
                        "licence": LICENCES[NOSEYPARKER], "rule": rule["id"],
                        "label": label, "text": sample,
                    }  # fmt: skip
                    if label == "positive":
                        cats = set(rule.get("categories") or [])
                        if "identifier" in cats and "secret" not in cats:
                            continue  # bucket names, ARNs, ids: not secrets to remove
                        try:
                            m = rx.search(sample, timeout=2) if rx else None
                        except TimeoutError:
                            m = None
                        value = m.group(secret_group(rule["pattern"], m)) if m else None
                        if not value:
                            continue
                        item["value"] = value
                    out.append(item)
    return out


# --- planting into Roo Code task folders ---------------------------------------------------
CARRIERS = ("command_output", "tool_json", "mcp_arguments", "api_history", "command_file")


def _ui(ts: int, kind: str, text: str) -> dict[str, Any]:
    if kind == "command_output":
        return {"ts": ts, "type": "say", "say": "command_output", "text": text}
    if kind == "tool_json":
        tool = {"tool": "newFileCreated", "path": "config/settings.env", "content": text, "isOutsideWorkspace": False}  # fmt: skip
        return {"ts": ts, "type": "ask", "ask": "tool", "text": orjson.dumps(tool).decode()}
    args = orjson.dumps({"path": "notes/config.txt", "content": text}).decode()
    mcp = {"type": "use_mcp_tool", "serverName": "filesystem", "toolName": "write_file", "arguments": args}  # fmt: skip
    return {"ts": ts, "type": "ask", "ask": "use_mcp_server", "text": orjson.dumps(mcp).decode()}


def plant(strings: list[dict[str, Any]], out: Path, seed: int = 14) -> dict[str, Any]:
    rng = random.Random(seed)
    truth: list[dict[str, Any]] = []
    for start in range(0, len(strings), PER_TASK):
        task_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        folder = out / "tasks" / task_id
        (folder / "command-output").mkdir(parents=True, exist_ok=True)
        ui: list[dict[str, Any]] = []
        api: list[dict[str, Any]] = []
        lines: list[str] = []
        ts = 1_763_700_000_000 + start * 1000
        for n, item in enumerate(strings[start : start + PER_TASK]):
            sid = start + n
            ts += 1000
            ui.append({"ts": ts, "type": "say", "say": "api_req_started", "text": orjson.dumps({"apiProtocol": "anthropic", "tokensIn": 1200 + n, "tokensOut": 80, "cost": 0.004}).decode()})  # fmt: skip
            for kind in CARRIERS[:3]:
                ui.append(_ui(ts, kind, item["text"]))
                truth.append({"id": sid, "carrier": kind, "file": f"tasks/{task_id}/ui_messages.json", "index": len(ui) - 1})  # fmt: skip
            api.append({"role": "user", "content": [{"type": "text", "text": f"<command_output>\n{item['text']}\n</command_output>"}]})  # fmt: skip
            truth.append({"id": sid, "carrier": "api_history", "file": f"tasks/{task_id}/api_conversation_history.json", "index": len(api) - 1})  # fmt: skip
            marker = f"--- sample {sid} ---"
            lines.append(f"{marker}\n{item['text']}\n")
            truth.append({"id": sid, "carrier": "command_file", "file": f"tasks/{task_id}/command-output/cmd-1.txt", "index": sid})  # fmt: skip
        (folder / "ui_messages.json").write_bytes(orjson.dumps(ui))
        (folder / "api_conversation_history.json").write_bytes(orjson.dumps(api))
        (folder / "command-output" / "cmd-1.txt").write_text("".join(lines) + "--- end ---\n")
    return {"plants": truth}


def is_placeholder(value: str) -> bool:
    """Values the issue says to keep (item 5): repeated characters, xxxx, EXAMPLE, and
    typed sequences (1234567…, abcdefg…: `12345678-ABCD-ABCD-…`, `abc12fake-456def789ghij`)."""
    low = value.lower()
    run = best = 1
    for a, b in zip(value, value[1:], strict=False):
        run = run + 1 if ord(b) == ord(a) + 1 and a.isalnum() and b.isalnum() else 1
        best = max(best, run)
    return len(set(value)) <= 4 or "xxxx" in low or "example" in low or "****" in value or best >= 7


def _entropy(value: str) -> float:
    from collections import Counter
    from math import log2

    n = len(value)
    return -sum(c / n * log2(c / n) for c in Counter(value).values()) if n else 0.0


def rule_judges(gl: str, gl_commit: str, np_: str, np_commit: str) -> list:
    """Every rule of both scanners as a predicate (regex + gitleaks' entropy floor)."""
    judges = []
    toml = tomllib.loads(git(gl, "show", f"{gl_commit}:config/gitleaks.toml"))
    for rule in toml["rules"]:
        rx = go_regex(rule.get("regex", ""))
        if rx is not None:
            judges.append(_judge(rx, rule.get("entropy", 0.0), rule.get("secretGroup", 0)))
    for path in git(np_, "ls-tree", "--name-only", np_commit, f"{NP_RULES}/").split():
        if path.endswith(".yml"):
            for rule in (yaml.safe_load(git(np_, "show", f"{np_commit}:{path}")) or {}).get("rules", []):  # fmt: skip
                with contextlib.suppress(regex.error):
                    judges.append(_judge(regex.compile(rule["pattern"]), 0.0, 0))
    return judges


def _judge(rx: regex.Pattern, floor: float, group: int):
    def judge(text: str) -> bool:
        try:
            m = rx.search(text, timeout=1)
        except TimeoutError:
            return False
        if not m:
            return False
        groups = [g for g in m.groups() if g]
        value = m.group(group) if group else (groups[0] if groups else m.group(0))
        return bool(value) and _entropy(value) >= floor and not is_placeholder(value)

    return judge


def split_of(item: dict[str, Any]) -> str:
    """Half of the rules (by a hash of source + rule id) are held out from tuning."""
    h = hashlib.sha256(f"{item['source']}:{item['rule']}".encode()).digest()[0]
    return "holdout" if h % 2 else "dev"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gitleaks", required=True)
    ap.add_argument("--noseyparker", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    gl_commit = git(args.gitleaks, "rev-parse", "HEAD").strip()
    np_commit = git(args.noseyparker, "rev-parse", "HEAD").strip()
    strings = gitleaks_strings(args.gitleaks, gl_commit) + noseyparker_strings(args.noseyparker, np_commit)  # fmt: skip
    judges = rule_judges(args.gitleaks, gl_commit, args.noseyparker, np_commit)
    for i, item in enumerate(strings):
        item["id"] = i
        item["split"] = split_of(item)
        if item["label"] == "positive":
            item["placeholder"] = is_placeholder(item["value"])
        else:  # benign only if no rule of either scanner takes it
            item["benign"] = not any(judge(item["text"]) for judge in judges)
    out = Path(args.out)
    if (out / "tasks").exists():
        import shutil

        shutil.rmtree(out / "tasks")
    out.mkdir(parents=True, exist_ok=True)
    truth = plant(strings, out)
    (out / "strings.json").write_bytes(orjson.dumps(strings, option=orjson.OPT_INDENT_2))
    (out / "truth.json").write_bytes(orjson.dumps(truth))
    pos = sum(s["label"] == "positive" for s in strings)
    rules = len({(s["source"], s["rule"]) for s in strings})
    print(f"{len(strings)} strings ({pos} positive) from {rules} rules; gitleaks {gl_commit[:12]}, noseyparker {np_commit[:12]}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
