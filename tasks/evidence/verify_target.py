"""What `compliance reports verify TARGET` checks: one bundle (s3:// envelope URI or a
bundle folder), a downloaded tree (every job under reports/), or a job's whole chain.

Trust is resolved once per target by tasks.evidence.trust from the anchors the caller was
given; the keys/ found in the bucket or the tree are candidates, never anchors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from tasks.common.errors import InputError
from tasks.common.s3 import S3Uri
from tasks.common.storage import LocalStore, S3Store, Store

from .dsse import ENVELOPE_NAME, EnvelopeError, parse_envelope, sha256_hex
from .trust import Anchors, fingerprint_anchors, resolve_trust
from .verify import BUNDLE_KEY_RE, Failure, Trust, read_capped, verify_bundle
from .verify_chain import Report, verify_job
from .writer import RUN_ID_RE

LAYOUT_TAIL = re.compile(r"(reports/[a-z0-9][a-z0-9-]*/\d{4}/\d{2}/\d{2}/[A-Za-z0-9-]+/)$")


class FolderBundleStore(LocalStore):
    """A bundle folder taken out of its tree: present it under the prefix it claims."""

    def __init__(self, folder: Path, prefix: str) -> None:
        super().__init__(folder)
        self.prefix = prefix
        self.label = f"{folder}/"

    def _file(self, key: str) -> Path | None:
        """The folder's file for a key under the claimed prefix, with LocalStore's guards
        (hostile names refused, no symlink followed: the folder may come from anywhere)."""
        return super()._file(key[len(self.prefix) :]) if key.startswith(self.prefix) else None

    def list(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        if prefix.startswith(self.prefix) or self.prefix.startswith(prefix):
            for rel, size in sorted(super().list("")):  # the guarded walk: no symlinks
                if (key := self.prefix + rel).startswith(prefix):
                    yield key, size

    def uri(self, key: str) -> str:
        return f"{self.root}/{key[len(self.prefix) :]}" if key.startswith(self.prefix) else key


def _single(store: Store, prefix: str, trust: Trust, retention_days: int | None) -> Report:
    report = Report()
    info, failures = verify_bundle(store, prefix, trust, retention_days=retention_days)
    report.bundles.append(info)
    report.failures.extend(failures)
    prev = info.predicate.get("previous")
    if info.valid and isinstance(prev, dict) and isinstance(store, S3Store):
        # Online, a single bundle also proves its link: the previous envelope's bytes hash right.
        try:
            uri = S3Uri.parse(prev["uri"])
            data = read_capped(store, uri.key) if uri.bucket == store.bucket else None
        except ValueError:
            uri, data = prev["uri"][:200], None
        if data is None or sha256_hex(data) != prev["digest"]["sha256"]:
            report.failures.append(
                Failure(
                    store.uri(prefix + ENVELOPE_NAME),
                    "chain_link",
                    f"previous {uri} missing or digest differs",
                )
            )
    report.chain = [prefix] if info.valid else []
    return report


def verify_target(
    target: str,
    *,
    client: Any = None,
    public_keys: list[tuple[str, bytes]] = (),
    trusted_keys: list[str] = (),
    anchors: Anchors | None = None,
    schedule: str | None = None,
    now: datetime | None = None,
    retention_days: int | None = None,
) -> Report:
    """Verify `target` trusting only `anchors` (+ PEMs `public_keys`, fingerprints
    `trusted_keys`); NoTrustAnchor (one line) when there is none."""
    anchors = (anchors or Anchors()) + Anchors(pems=tuple(public_keys))
    anchors = anchors + fingerprint_anchors(trusted_keys)
    if target.startswith("s3://"):
        uri = S3Uri.parse(target)
        store: Store = S3Store(client, uri.bucket)
        trust, failures = resolve_trust(store, anchors)
        if uri.key.endswith(ENVELOPE_NAME):
            report = _single(store, uri.key[: -len(ENVELOPE_NAME)], trust, retention_days)
        else:
            m = re.match(r"^reports/([a-z0-9][a-z0-9-]*)/?$", uri.key)
            if not m:
                raise InputError(
                    f"{target}: give an attestation.dsse.json URI or s3://BUCKET/reports/<job>/"
                )
            report = verify_job(
                store, m.group(1), trust, schedule=schedule, now=now, retention_days=retention_days
            )
            if not report.bundles and not report.failures:  # a typo must not read "ok"
                what = f" ({len(report.incomplete)} incomplete runs)" if report.incomplete else ""
                report.failures.append(
                    Failure(
                        store.uri(f"reports/{m.group(1)}/"),
                        "no_bundles",
                        f"no committed bundle of this job{what}",
                    )
                )
        report.failures[:0] = failures
        return report
    folder = Path(target)
    if not folder.is_dir():
        raise InputError(f"{target}: not a folder or an s3:// URI")
    if (folder / ENVELOPE_NAME).is_file():
        return _verify_bundle_folder(folder, anchors)
    local = LocalStore(folder)
    trust, failures = resolve_trust(local, anchors)
    jobs = (
        sorted(p.name for p in (folder / "reports").iterdir() if p.is_dir())
        if (folder / "reports").is_dir()
        else []
    )
    if not jobs:
        raise InputError(f"{target}: no attestation.dsse.json and no reports/<job>/ inside")
    report = Report(failures=list(failures))
    for job in jobs:
        part = verify_job(local, job, trust, schedule=schedule, now=now)
        report.failures.extend(part.failures)
        report.bundles.extend(part.bundles)
        report.chain.extend(part.chain)
        report.incomplete.extend(part.incomplete)
    return report


def _verify_bundle_folder(folder: Path, anchors: Anchors) -> Report:
    resolved = folder.resolve()
    m = LAYOUT_TAIL.search(resolved.as_posix() + "/")
    if m:  # inside a downloaded tree: verify in place, keys/ from the tree root
        root = Path(resolved.as_posix()[: m.start(1)])
        store: Store = LocalStore(root)
        prefix = m.group(1)
    else:  # moved elsewhere: a folder named like a run id must be the run it claims
        try:
            env = parse_envelope(read_capped(LocalStore(folder), ENVELOPE_NAME) or b"")
            prefix = str(env.predicate.get("prefix") or "")
        except EnvelopeError:
            prefix = ""
        m2 = BUNDLE_KEY_RE.match(prefix + ENVELOPE_NAME)
        # A copy under any other name ("for-the-auditor/") is just a folder: no replay claim.
        named_as_run = RUN_ID_RE.match(folder.name) is not None
        if not m2 or (named_as_run and m2.group(6) != folder.name):
            prefix = f"reports/unknown/0000/00/00/{folder.name}/"
        store = FolderBundleStore(folder, prefix)
    trust, failures = resolve_trust(store, anchors)
    report = _single(store, prefix, trust, None)
    report.failures[:0] = failures
    return report
