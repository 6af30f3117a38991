"""IAM user holds administrator privileges (*:*)."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.helpers import user_resource
from tasks.access.policies import admin_policies
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamAdministratorPolicyAttached(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        out = []
        for u in snapshot.iam.users.values():
            pols = admin_policies(u)
            if pols:
                names = sorted(
                    {f"{p.name} ({'inline' if p.inline else 'managed'}, {p.via})" for p in pols}
                )
                out.append(
                    self.fail(
                        user_resource(u),
                        f"IAM user {u.name} has administrator privileges via {', '.join(names)}",
                        policies=names,
                    )
                )
        return out
