"""Organisation allows every provider and model."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class OrgAllowAllProviders(Check):
    requires = ("org",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        allow = snapshot.org.allow_list
        if allow.get("allowAll", True):
            return [
                self.fail(
                    "roo:org/allowList",
                    "organisation allowList allows every provider and model",
                    default=("allowAll" not in allow),
                    file=snapshot.org.source,
                )
            ]
        open_providers = sorted(
            p
            for p, spec in (allow.get("providers") or {}).items()
            if isinstance(spec, dict) and spec.get("allowAll")
        )
        return [
            self.passed(
                "roo:org/allowList",
                "organisation restricts providers",
                providers_allow_all_models=open_providers,
            )
        ]
