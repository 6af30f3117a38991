"""Data bucket layout (fixed by the design's contracts) and helpers to build keys."""

from __future__ import annotations

from datetime import date

RAW_ROO = "raw/roo/"  # raw/roo/<user>/tasks/<taskId>/…, raw/roo/<user>/settings/…
RAW_EVENTS = "raw/events/"  # raw/events/<YYYY>/<MM>/<DD>/*.jsonl
RAW_ORG = "raw/org/"
ROSTER_KEY = "raw/org/roster.csv"
ORG_SETTINGS_KEY = "raw/org/organization-settings.json"
VALIDATED = "validated/"
QUARANTINE = "quarantine/"
REDACTED_ROO = "redacted/roo/"
STATE = "state/"


def validated_key(table: str, day: date, run_id: str) -> str:
    """validated/<table>/date=YYYY-MM-DD/<run_id>.parquet (Hive-style, DuckDB-readable)."""
    return f"{VALIDATED}{table}/date={day.isoformat()}/{run_id}.parquet"


def quarantine_key(day: date, run_id: str) -> str:
    return f"{QUARANTINE}date={day.isoformat()}/{run_id}.jsonl"


def state_key(job: str, name: str) -> str:
    return f"{STATE}{job}/{name}"
