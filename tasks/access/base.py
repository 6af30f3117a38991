"""Check base class and metadata (Prowler's convention: one folder per check)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field, ValidationError, field_validator

from tasks.access.config import AccessConfig
from tasks.access.snapshot import AccessSnapshot
from tasks.common.errors import ComplianceError
from tasks.common.models import Finding, FindingStatus, Severity


class CheckDefinitionError(ComplianceError):
    """A check folder, file, class and metadata disagree, or the metadata is invalid."""


class Mappings(BaseModel):
    model_config = {"extra": "forbid"}
    cis_aws: list[str] = Field(default_factory=list)
    soc2: list[str] = Field(min_length=1)

    @field_validator("soc2")
    @classmethod
    def _cc6(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not c.startswith("CC")]
        if bad:
            raise ValueError(f"not SOC 2 criteria: {bad}")
        return v


class CheckMetadata(BaseModel):
    model_config = {"extra": "forbid"}
    id: str = Field(pattern=r"^[a-z][a-z0-9_]+$")
    title: str = Field(min_length=5)
    category: str = Field(pattern=r"^(iam|agent|org|roster)$")
    severity: Severity
    description: str = Field(min_length=10)
    risk: str = Field(min_length=10)
    remediation: str = Field(min_length=10)
    mappings: Mappings


class Check:
    """Subclasses set `requires` and implement evaluate(snapshot) -> list[Finding]."""

    requires: ClassVar[tuple[str, ...]] = ()  # snapshot parts: iam, settings, org, roster
    metadata: ClassVar[CheckMetadata]

    def __init__(self, config: AccessConfig | None = None) -> None:
        self.config = config or AccessConfig()

    @classmethod
    def load_metadata(cls) -> CheckMetadata:
        """Read <folder>/<id>.metadata.json and insist that id, folder and file agree."""
        path = Path(inspect.getfile(cls))
        folder, stem = path.parent.name, path.stem
        meta_path = path.with_name(f"{stem}.metadata.json")
        try:
            meta = CheckMetadata(**json.loads(meta_path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise CheckDefinitionError(f"{meta_path}: metadata file missing") from None
        except json.JSONDecodeError as exc:
            raise CheckDefinitionError(f"{meta_path}: invalid JSON (line {exc.lineno})") from None
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise CheckDefinitionError(f"{meta_path}: {key}: {err['msg']}") from None
        unknown = sorted(set(cls.requires) - set(SNAPSHOT_PARTS))
        if unknown:
            raise CheckDefinitionError(
                f"{path}: requires unknown snapshot part(s) {unknown}; known: {sorted(SNAPSHOT_PARTS)}"
            )
        if not (meta.id == folder == stem):
            raise CheckDefinitionError(
                f"{path}: check id {meta.id!r}, folder {folder!r} and file {stem!r} must agree"
            )
        cls.metadata = meta
        return meta

    @property
    def id(self) -> str:
        return self.metadata.id

    def evaluate(self, snapshot: AccessSnapshot) -> list[Finding]:
        raise NotImplementedError

    # Finding helpers: severity from the metadata unless a finding says otherwise.
    def fail(
        self, resource: str, message: str, severity: Severity | str | None = None, **details: Any
    ) -> Finding:
        return Finding.make(
            self.id,
            severity or self.metadata.severity,
            FindingStatus.fail,
            resource,
            message,
            **details,
        )

    def passed(self, resource: str, message: str, **details: Any) -> Finding:
        return Finding.make(
            self.id, self.metadata.severity, FindingStatus.passed, resource, message, **details
        )

    def error(self, resource: str, message: str, **details: Any) -> Finding:
        return Finding.make(
            self.id, self.metadata.severity, FindingStatus.error, resource, message, **details
        )

    def run(self, snapshot: AccessSnapshot) -> list[Finding]:
        """evaluate() with the gaps made visible: missing inputs or a crash are error findings."""
        missing = [part for part in self.requires if _missing(snapshot, part)]
        if missing:
            why = snapshot.iam_error if "iam" in missing and snapshot.iam_error else "not collected"
            return [
                self.error(
                    f"input:{'+'.join(missing)}", f"cannot run: {', '.join(missing)} {why}"[:300]
                )
            ]
        try:
            findings = self.evaluate(snapshot)
        except Exception as exc:  # a bug in one check must not hide the others
            return [self.error(f"check:{self.id}", f"check failed: {type(exc).__name__}")]
        if not findings:
            findings = [self.passed("all", f"{self.metadata.title}: no failing resource")]
        return findings


# Each snapshot part a check may require, and when it counts as not collected. Settings
# are per user: none collected for anyone means the settings checks cannot run.
SNAPSHOT_PARTS = {
    "iam": lambda s: s.iam is None,
    "settings": lambda s: not s.settings,
    "org": lambda s: s.org is None,
    "roster": lambda s: s.roster is None,
}


def _missing(snapshot: AccessSnapshot, part: str) -> bool:
    return SNAPSHOT_PARTS[part](snapshot)
