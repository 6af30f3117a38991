"""The runbook catalogue: runbooks/<id>.md, each with YAML front matter.

```
---
id: provider-degradation          # = the file name
title: Provider degradation or outage
owner: platform-ai
triggers: [quality.signal.provider_degradation]   # check ids, or globs (iam_*, budget.*)
steps: [..., ...]                 # what the on-call does, in order
---
prose
```

Every alert signal and every finding of high severity or worse names its runbook
(`details.runbook`, with its title and steps, so report.html and alerts can show them).
An exact trigger wins over a glob; among globs, the longest pattern wins.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from tasks.common.errors import ConfigError
from tasks.common.models import Finding, FindingStatus, Severity

RUNBOOKS_DIR = Path(__file__).resolve().parents[2] / "runbooks"
ID_RE = r"^[a-z0-9][a-z0-9-]{1,62}$"
_FRONT = re.compile(r"\A---\r?\n(.*?)\r?\n---\r?\n?(.*)\Z", re.DOTALL)


class Runbook(BaseModel):
    model_config = {"extra": "forbid"}

    id: str = Field(pattern=ID_RE)
    title: str = Field(min_length=3, max_length=200)
    owner: str = Field(min_length=1, max_length=100)
    triggers: list[str] = Field(min_length=1)
    steps: list[str] = Field(min_length=1)
    body: str = ""

    def answers(self, check: str) -> int:
        """0: no; else the strength of the match (exact beats the longest glob)."""
        best = 0
        for t in self.triggers:
            if t == check:
                return 10_000
            if any(c in t for c in "*?[") and fnmatch.fnmatchcase(check, t):
                best = max(best, len(t))
        return best


def parse_runbook(text: str, source: str) -> Runbook:
    """One runbook file; a problem is one line naming the file and the key."""
    m = _FRONT.match(text)
    if not m:
        raise ConfigError(f"{source}: no front matter (a --- block first)")
    try:
        meta = yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        raise ConfigError(f"{source}: front matter is not valid YAML") from None
    if not isinstance(meta, dict):
        raise ConfigError(f"{source}: front matter must be a mapping")
    try:
        book = Runbook(**meta, body=m.group(2).strip())
    except (ValidationError, TypeError) as exc:
        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"{source}: {key}: {err['msg']}") from None
        raise ConfigError(f"{source}: front matter has odd keys") from None
    stem = Path(source).name.removesuffix(".md")
    if book.id != stem:
        raise ConfigError(f"{source}: id {book.id!r} does not match the file name")
    return book


def load_runbooks(folder: Path | str | None = None) -> dict[str, Runbook]:
    folder = Path(folder) if folder else RUNBOOKS_DIR
    books: dict[str, Runbook] = {}
    for path in sorted(folder.glob("*.md")):
        if path.is_symlink() or not path.is_file():
            raise ConfigError(f"{path}: not a regular file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8") from None
        book = parse_runbook(text, str(path))
        books[book.id] = book
    return books


@lru_cache(maxsize=1)
def default_runbooks() -> dict[str, Runbook]:
    return load_runbooks()


def runbook_for(check: str, books: dict[str, Runbook] | None = None) -> Runbook | None:
    books = default_runbooks() if books is None else books
    scored = [(b.answers(check), b.id) for b in books.values()]
    score, best = max(scored, default=(0, ""))
    return books[best] if score else None


def needs_runbook(f: Finding) -> bool:
    return f.status != FindingStatus.passed and (
        f.severity.rank >= Severity.high.rank or f.check.startswith("quality.signal.")
    )


def attach_runbooks(findings: list[Finding], books: dict[str, Runbook] | None = None) -> int:
    """details.runbook / runbook_title / runbook_steps on every finding that needs one."""
    try:
        books = default_runbooks() if books is None else books
    except ConfigError:
        return 0  # a broken runbook file is the meta-test's to catch, never a job's failure
    named = 0
    for f in findings:
        if not needs_runbook(f) or f.details.get("runbook"):
            continue
        book = runbook_for(f.check, books)
        if book is None:
            continue
        f.details.update(runbook=book.id, runbook_title=book.title, runbook_steps=list(book.steps))
        named += 1
    return named


def summary(books: dict[str, Runbook]) -> list[dict[str, Any]]:
    return [
        {"id": b.id, "title": b.title, "owner": b.owner, "triggers": b.triggers}
        for b in books.values()
    ]
