"""What the alert signals (health.py) read of the validated events, gathered batch by batch.

The signals look at few rows: auth failures, timeouts, commands, rollbacks, file writes,
requests with a cost, failed and plain model requests. Those rows are kept (in the
period's days, in row order, with their positions as index) with only the columns a
signal reads, and a column's value only on the rows that use it (a write's path, a
request's provider); from every row three facts are kept: the users, each user's first
team, each user's workspaces. The signals computed from this are the signals computed
from the whole frame (tests/quality/test_bounded.py).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from tasks.quality.providers import failure_mask

COLUMNS = ("source", "user", "ts", "day", "task_id", "kind", "category", "error_class", "cost",
           "mutates", "path", "workspace", "provider", "model")  # fmt: skip


def day_labels(ts: pd.Series) -> pd.Series:
    """YYYY-MM-DD of each timestamp (formatting only the distinct days: strftime is slow)."""
    codes, uniques = pd.factorize(ts.dt.floor("D"))
    labels = np.array([u.strftime("%Y-%m-%d") for u in uniques] + [None], dtype=object)
    return pd.Series(labels[codes], index=ts.index, dtype="str")


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
        self._parts: list[pd.DataFrame] = []

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
        self._parts.append(self._needed(ev))

    def _needed(self, ev: pd.DataFrame) -> pd.DataFrame:
        cls, cat = ev["error_class"], ev["category"]
        write = ev["mutates"].fillna(False).astype(bool) & _is(cat, "tool")
        rollback = _is(cat, "rollback")
        requests = failure_mask(ev) | _is(cat, "api_request")
        keep = (
            _is(cls, "auth") | _is(cls, "timeout") | _is(cat, "command") | rollback | write
            | ev["cost"].notna() | requests
        )  # fmt: skip
        sub = ev.loc[keep.to_numpy(), list(COLUMNS)]
        only = {"task_id": (rollback | write)[keep], "path": write[keep],
                "workspace": write[keep], "provider": requests[keep], "model": requests[keep]}  # fmt: skip
        for column, rows in only.items():
            sub[column] = sub[column].where(rows)  # not read elsewhere: held as missing
        return sub

    def frame(self) -> pd.DataFrame:
        """The kept rows of every batch, in row order."""
        if not self._parts:
            return pd.DataFrame(columns=list(COLUMNS))
        if len(self._parts) > 1:
            self._parts = [pd.concat(self._parts)]
        return self._parts[0]
