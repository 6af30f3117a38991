"""The collector's "already redacted" mark, as log-retention reads it.

`compliance collect --redact` writes `x-amz-meta-compliance-redacted: engine`
(tasks/collect/upload.py). The writer is the developer's machine, so the mark is a claim,
never a reason to skip redaction, the re-scan or a hold check; log-retention records it and
checks it by content.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tasks.collect.upload import REDACTED_META
from tasks.retention.planner import PlanItem, redacted_key

(SOURCE_MARK,) = REDACTED_META  # the metadata key boto3 returns (lowercase, no x-amz-meta-)


class SourceMark:
    """The S3 client of one object's preparation, noting the collector's mark.

    `compliance collect --redact` writes `x-amz-meta-compliance-redacted: engine`; the
    writer is the developer's machine, so the mark is a claim, never a reason to skip
    anything: the object is redacted and its copy re-scanned like any raw log. The mark is
    read from the GET of the newest version the job makes anyway (no extra request), and
    checked by content: redaction is deterministic and leaves its own markers alone, so an
    honestly redacted object's copy is the same bytes (SHA-256 of the copy, from its PUT or,
    for a marked object only, one GET, against the raw's). The verdict goes into plan.jsonl
    (`source_redacted`) and the summary; `not_confirmed` is a finding.
    """

    def __init__(self, client: Any, item: PlanItem, newest: Any) -> None:
        self._client, self._bucket, self._key = client, item.bucket, item.key
        self._newest = newest
        self._copy = redacted_key(item.key)
        self.mark: str | None = None
        self.copy_sha256: str | None = None

    def get_object(self, **kw: Any) -> Any:
        resp = self._client.get_object(**kw)
        newest = self._newest
        same = newest is not None and kw.get("VersionId", "null") == newest.version_id
        if kw.get("Key") == self._key and same:
            self.mark = (resp.get("Metadata") or {}).get(SOURCE_MARK)
        return resp

    def put_object(self, **kw: Any) -> Any:
        if kw.get("Key") == self._copy and isinstance(kw.get("Body"), bytes):
            self.copy_sha256 = hashlib.sha256(kw["Body"]).hexdigest()
        return self._client.put_object(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def verdict(self, problem: str | None) -> str:
        raw = self._newest.sha256 if self._newest is not None else None
        if problem and problem.startswith("redacted copy"):
            return "not_confirmed"  # the copy still had findings: the raw was not clean
        if problem or raw is None:
            return "unchecked"  # held (nothing copied) or nothing live
        if self.copy_sha256 is None:  # copy left by an earlier run, or sent multipart
            digest = hashlib.sha256()
            body = self._client.get_object(Bucket=self._bucket, Key=self._copy)["Body"]
            for chunk in iter(lambda: body.read(1024 * 1024), b""):
                digest.update(chunk)
            self.copy_sha256 = digest.hexdigest()
        return "confirmed" if self.copy_sha256 == raw else "not_confirmed"
