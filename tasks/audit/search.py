"""Search ledger entries: by user, time, path glob and command regex (all optional, ANDed)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

import orjson
import re2

from tasks.common.errors import InputError
from tasks.common.models import to_utc


def _ts_text(moment: datetime) -> str:
    # Ledger timestamps are ISO 8601 UTC with milliseconds, so text order is time order.
    return to_utc(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Query:
    user: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    path_glob: str | None = None  # fnmatch, case-sensitive; '*' also crosses '/'
    command_regex: str | None = None  # RE2 syntax, searched anywhere in the stored command

    def line_filter(self) -> Callable[[bytes], bool]:
        """A cheap test on a canonical ledger line (sorted keys, no whitespace) that only
        rejects lines the full matcher would reject too, so most lines are never parsed."""
        needles = []
        if self.user is not None:
            needles.append(b'"user":' + orjson.dumps(self.user))
        if self.path_glob is not None:
            needles.append(b'"path":"')
        if self.command_regex is not None:
            needles.append(b'"command":"')
        return lambda line: all(n in line for n in needles)

    def matcher(self):
        """A predicate over one entry (the regex compiled once)."""
        try:
            rx = re2.compile(self.command_regex) if self.command_regex else None
        except re2.error:
            raise InputError(f"--command: not a valid regex: {self.command_regex!r}") from None
        lo = _ts_text(self.since) if self.since else None
        hi = _ts_text(self.until) if self.until else None

        def match(e: dict[str, Any]) -> bool:
            if self.user is not None and e.get("user") != self.user:
                return False
            ts = e.get("ts") or ""
            if (lo and ts < lo) or (hi and ts >= hi):
                return False
            path, command = e.get("path"), e.get("command")
            if self.path_glob is not None and not (path and fnmatchcase(path, self.path_glob)):
                return False
            return rx is None or bool(command and rx.search(command))

        return match


def search(entries: Iterable[dict[str, Any]], query: Query) -> Iterator[dict[str, Any]]:
    """The entries matching every given criterion, in input order."""
    match = query.matcher()
    return (e for e in entries if match(e))


def search_ledgers(
    ledgers: Iterable[tuple[str, Iterable[dict[str, Any]]]], query: Query
) -> list[dict[str, Any]]:
    """Matches over (bundle uri, entries) pairs, each result carrying its `bundle`."""
    match = query.matcher()
    out = [{**e, "bundle": bundle} for bundle, entries in ledgers for e in entries if match(e)]
    out.sort(key=lambda e: (e.get("ts") or "", e["bundle"], e.get("seq") or 0))
    return out


def search_bundles(
    client: Any,
    bucket: str,
    query: Query,
    days: Iterable[Any],
    verify: Any,
) -> dict[str, Any]:
    """Search the ledgers of `days` in the reports bucket, trusting only verified bundles.

    Per day the newest bundle that verifies is searched (a rerun supersedes the run
    before it); bundles that fail verification are listed with their first problem and
    never read. `verify` (an EvidenceVerifier built from the reader's pinned keys) decides
    what is trusted: a bundle signed by any other key cannot hide an older ledger. Days without any trusted ledger are listed as `missing_days`. Ledgers
    are streamed: only the matches are kept.
    """
    from tasks.audit.bundles import download_ledger, list_ledger_bundles
    from tasks.audit.ledger import iter_ledger

    match, keep = query.matcher(), query.line_filter()
    wanted = sorted(set(days))
    found, broken = list_ledger_bundles(client, bucket, wanted)
    rejected = [{"bundle": uri, "problem": problem} for uri, problem in broken]
    searched: dict[Any, dict[str, Any]] = {}
    matches: list[dict[str, Any]] = []
    for bundle in reversed(found):  # newest run first within each day
        if bundle.day in searched:
            continue
        problems = verify(client, bundle)
        if not problems:
            try:
                ledger = download_ledger(client, bundle)  # a temporary file, digest checked
                hits, total = [], 0
                for e in iter_ledger(ledger.chunks(), name=bundle.uri, keep=keep):
                    total += 1
                    if match(e):
                        hits.append({**e, "bundle": bundle.uri})
            except ValueError as exc:
                problems = [str(exc)]
            else:
                matches += hits
                searched[bundle.day] = {
                    "day": bundle.day.isoformat(),
                    "bundle": bundle.uri,
                    "entries": total,
                }
                continue
        rejected.append({"bundle": bundle.uri, "problem": problems[0]})
    matches.sort(key=lambda e: (e.get("ts") or "", e["bundle"], e.get("seq") or 0))
    return {
        "matches": matches,
        "searched": [searched[d] for d in sorted(searched)],
        "rejected": rejected,
        "missing_days": [d.isoformat() for d in wanted if d not in searched],
    }
