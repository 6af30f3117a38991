"""Root account without MFA."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamRootMfaDisabled(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        root = snapshot.iam.root
        if root is None:
            return [
                self.passed(
                    "iam:root", "credential report has no <root_account> row; nothing to check"
                )
            ]
        if not root.mfa_active:
            return [self.fail("iam:root", "the root account has no MFA")]
        return [self.passed("iam:root", "the root account has MFA")]
