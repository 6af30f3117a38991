"""Root account has active access keys."""

from __future__ import annotations

from tasks.access.base import Check
from tasks.access.snapshot import AccessSnapshot
from tasks.common.models import Finding


class IamRootAccessKeysPresent(Check):
    requires = ("iam",)

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        root = snapshot.iam.root
        if root is None:
            return [
                self.passed(
                    "iam:root", "credential report has no <root_account> row; nothing to check"
                )
            ]
        if root.access_key_1_active or root.access_key_2_active:
            return [self.fail("iam:root", "the root account has active access keys")]
        return [self.passed("iam:root", "the root account has no active access keys")]
