"""What the alert signals (health.py) read of the validated events, gathered batch by batch.

Each signal reads few rows and columns: auth failures; timeouts and commands; rollbacks;
file writes (a path and workspace only where the path could escape); requests with a
cost; failed model requests. Each gets its own frame of those rows (in the period's
days, in row order, indexed by their positions), and the provider signal's per-bucket
request counts are summed as they come (integers: exact). From every row three facts
are kept: the users, each user's first team, each user's workspaces. The signals
computed from these are those computed from the whole frame (tests/quality/
test_bounded.py), in a fraction of its memory.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from tasks.quality.providers import failure_mask, source_counts

FRAMES = {
    "auth": ("source", "user", "day", "error_class"),
    "timeouts": ("source", "user", "day", "error_class", "category"),
    "rollbacks": ("source", "user", "ts", "day", "task_id", "category"),
    "writes": ("source", "user", "ts", "day", "task_id", "category", "mutates", "path",
               "workspace"),
    "spend": ("source", "user", "day", "cost"),
    "failed": ("source", "user", "ts", "kind", "category", "error_class", "provider", "model"),
}  # fmt: skip


def day_labels(ts: pd.Series) -> pd.Series:
    """YYYY-MM-DD of each timestamp (formatting only the distinct days: strftime is slow)."""
    codes, uniques = pd.factorize(ts.dt.floor("D"))
    labels = np.array([u.strftime("%Y-%m-%d") for u in uniques] + [None], dtype=object)
    return pd.Series(labels[codes], index=ts.index, dtype="str")


def may_escape(path: pd.Series) -> np.ndarray:
    """Paths that could leave the workspace (absolute, home-relative, ..-bearing, drive):
    only those are judged one by one."""
    return (
        path.str.startswith(("/", "~", "\\")).fillna(False)
        | path.str.contains("..", regex=False).fillna(False)
        | path.str.match(r"^[A-Za-z]:").fillna(False)
    ).to_numpy(dtype=bool)


def _is(column: pd.Series, value: str) -> pd.Series:
    return column.eq(value).fillna(False).astype(bool)


class SignalRows:
    """The rows and facts the signals need, added one frame of validated events at a time."""

    def __init__(self, days: list[date]) -> None:
        self.labels = [d.isoformat() for d in days]
        self.rows = 0  # every validated event, in the period or not
        self.users: set[str] = set()
        self.teams: dict[str, Any] = {}  # first team seen per user
        self.workspaces: dict[str, list[str]] = {}  # in order of first appearance
        self.per_source: pd.DataFrame | None = None  # providers.source_counts, summed
        self._parts: dict[str, list[pd.DataFrame]] = {k: [] for k in FRAMES}

    @classmethod
    def of(cls, events: pd.DataFrame, days: list[date]) -> SignalRows:
        rows = cls(days)
        rows.add(events)
        return rows

    def add(self, events: pd.DataFrame) -> None:
        self.rows += len(events)
        if not len(events):
            return
        ev = events.assign(day=day_labels(events["ts"]))
        ev = ev.loc[ev["day"].isin(self.labels)]
        self.users.update(ev["user"].dropna().unique())
        named = ev.dropna(subset=["team"]).drop_duplicates("user")
        for user, team in zip(named["user"], named["team"], strict=True):
            self.teams.setdefault(user, team)
        spaces = ev.dropna(subset=["workspace"]).groupby("user", sort=False)["workspace"]
        for user, values in spaces.unique().items():
            known = self.workspaces.setdefault(user, [])
            known += [w for w in values if w not in known]
        counts = source_counts(ev)
        self.per_source = (
            counts if self.per_source is None
            else self.per_source.add(counts, fill_value=0).astype("int64")
        )  # fmt: skip
        cls, cat = ev["error_class"], ev["category"]
        write = ev["mutates"].fillna(False).astype(bool) & _is(cat, "tool")
        masks = {
            "auth": _is(cls, "auth"),
            "timeouts": _is(cls, "timeout") | _is(cat, "command"),
            "rollbacks": _is(cat, "rollback"),
            "writes": write,
            "spend": ev["cost"].notna(),
            "failed": failure_mask(ev),
        }
        for kind, mask in masks.items():
            part = ev.loc[mask.to_numpy(), list(FRAMES[kind])]
            if kind == "writes" and len(part):  # a path that cannot escape is not read
                maybe = may_escape(part["path"])
                part["path"] = part["path"].where(maybe)
                part["workspace"] = part["workspace"].where(maybe)
            self._parts[kind].append(part)

    def take(self, kind: str) -> pd.DataFrame:
        """The rows of one signal, every batch's in row order (handed over: not kept)."""
        parts, self._parts[kind] = self._parts[kind], []
        if not parts:
            return pd.DataFrame(columns=list(FRAMES[kind]))
        return pd.concat(parts) if len(parts) > 1 else parts[0]

    def provider_counts(self) -> pd.DataFrame | None:
        return None if self.per_source is None else self.per_source.sort_index()
