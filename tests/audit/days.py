"""Test helpers: one day read and built as the job's collect and evaluate steps do it in
turn; a published ledger read whole."""

from __future__ import annotations

from typing import Any

from tasks.audit.bundles import LedgerBundle, download_ledger
from tasks.audit.day import DayResult, build_day, read_day
from tasks.audit.ledger import iter_ledger


def run_day(*args: Any, **kwargs: Any) -> DayResult:
    """read_day's arguments; the day's result (publishing is the job's)."""
    return build_day(read_day(*args, **kwargs))


def read_ledger(client: Any, bundle: LedgerBundle) -> list[dict[str, Any]]:
    """The bundle's entries whole (its bytes checked against the statement's digest)."""
    name = f"s3://{bundle.bucket}/{bundle.prefix}ledger.jsonl.gz"
    return list(iter_ledger(download_ledger(client, bundle).chunks(), name=name))
