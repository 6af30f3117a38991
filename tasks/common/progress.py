"""Progress of long steps as a Prefect progress artifact (a no-op outside a flow run)."""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger(__name__)


class RunProgress:
    """`update(done)` moves a progress bar in the Prefect UI, at most every `every_s` seconds."""

    def __init__(self, key: str, description: str, total: int, every_s: float = 2.0) -> None:
        self.total, self.description, self.every_s = max(total, 1), description, every_s
        self._artifact_id: Any = None
        self._last = 0.0
        from tasks.common.jobrun import in_prefect_run

        if not in_prefect_run():
            return
        try:
            from prefect.artifacts import create_progress_artifact

            self._artifact_id = create_progress_artifact(0.0, key=key, description=description)
        except Exception as exc:  # progress is a convenience, never a reason to fail
            log.warning("no progress artifact for %s: %s", key, type(exc).__name__)

    @property
    def active(self) -> bool:
        return self._artifact_id is not None

    def update(self, done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.active or (not force and now - self._last < self.every_s):
            return
        self._last = now
        try:
            from prefect.artifacts import update_progress_artifact

            pct = min(100.0, 100.0 * done / self.total)
            update_progress_artifact(
                self._artifact_id, pct, description=f"{self.description}: {done}/{self.total}"
            )
        except Exception as exc:
            log.warning("progress update failed: %s", type(exc).__name__)
            self._artifact_id = None
