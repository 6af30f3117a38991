"""Run ids that sort by time: YYYYMMDDTHHMMSSZ-<8 hex> (the evidence-bundle spec's form)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime


def new_run_id(now: datetime | None = None) -> str:
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
