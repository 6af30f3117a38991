"""Access-review inputs could not be read."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class AccessInputsReadable(Check):
    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        return [
            self.error(e.source, f"cannot read {e.source}: {e.problem}", scope=e.scope)
            for e in snapshot.errors
            if e.problem != "not found"
        ]
