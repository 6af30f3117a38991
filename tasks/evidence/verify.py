"""Verification of one bundle (spec checks 1, 2 and 4) on an S3 bucket or a local folder.

Every problem becomes a Failure(object, check, message); check names are stable:
envelope, payload_type, statement, unknown_key, signature, replay, subject_missing,
subject_digest, extra_object, versions, object_lock, retention (plus the chain checks in
verify_chain: chain_link, fork, orphan, claim, stale, period_gap, and key).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tasks.common.errors import ConfigError

from .dsse import (
    ENVELOPE_NAME,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    Envelope,
    EnvelopeError,
    pae,
    parse_envelope,
    sha256_hex,
)
from .signer import fingerprint, load_public_key, verify_signature
from .store import KEYS, ObjectVersion, S3Store, Store

# reports/<job>/<YYYY>/<MM>/<DD>/<run_id>/<file>
BUNDLE_KEY_RE = re.compile(
    r"^(reports/([a-z0-9][a-z0-9-]*)/(\d{4})/(\d{2})/(\d{2})/([A-Za-z0-9-]+)/)(.+)$"
)
RETENTION_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Failure:
    object: str
    check: str
    message: str

    def line(self) -> str:
        return f"{self.object}: {self.check}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class BundleInfo:
    prefix: str
    envelope_bytes: bytes | None = None
    envelope: Envelope | None = None
    valid: bool = False  # parsed, signed by a trusted key, in its place

    @property
    def digest(self) -> str | None:
        return sha256_hex(self.envelope_bytes) if self.envelope_bytes is not None else None

    @property
    def predicate(self) -> dict[str, Any]:
        return self.envelope.predicate if self.envelope else {}


@dataclass
class Trust:
    keys: dict[str, ec.EllipticCurvePublicKey] = field(default_factory=dict)

    @classmethod
    def from_pems(cls, pems: list[tuple[str, bytes]]) -> Trust:
        trust = cls()
        for source, pem in pems:
            key = load_public_key(pem, source)
            trust.keys[fingerprint(key)] = key
        return trust


def trust_from_store(store: Store) -> tuple[Trust, list[Failure]]:
    """Keys published at keys/<fingerprint>.pem; a key whose name lies is a failure."""
    trust, failures = Trust(), []
    for key in store.keys(KEYS):
        data = store.read(key) or b""
        try:
            pub = load_public_key(data, key)
        except ConfigError as exc:
            failures.append(Failure(store.uri(key), "key", str(exc).split(": ", 1)[-1]))
            continue
        fp = fingerprint(pub)
        if key != f"{KEYS}{fp}.pem":
            failures.append(
                Failure(store.uri(key), "key", f"fingerprint is {fp}, not the file name")
            )
            continue
        trust.keys[fp] = pub
    return trust, failures


def _check_signature(env: Envelope, trust: Trust) -> tuple[str, str] | None:
    message = pae(env.payload_type, env.payload)
    trusted = [(k, s) for k, s in env.signatures if k in trust.keys]
    if not trusted:
        return "unknown_key", f"signed by untrusted key {env.signatures[0][0][:16]}"
    if any(verify_signature(trust.keys[k], s, message) for k, s in trusted):
        return None
    return "signature", f"signature does not verify with key {trusted[0][0][:16]}"


def _check_place(store: Store, prefix: str, env: Envelope) -> str | None:
    """Replay: the statement must describe the place it sits in."""
    m = BUNDLE_KEY_RE.match(prefix + ENVELOPE_NAME)
    pred = env.predicate
    if pred.get("prefix") != prefix:
        return f"statement is for {pred.get('prefix')}, found at {prefix}"
    if m and (pred.get("job") != m.group(2) or pred.get("run_id") != m.group(6)):
        return "statement job/run_id do not match the bundle path"
    if isinstance(store, S3Store) and pred.get("bucket") != store.bucket:
        return f"statement is for bucket {pred.get('bucket')}"
    return None


def verify_bundle(
    store: Store,
    prefix: str,
    trust: Trust,
    *,
    retention_days: int | None = None,
    keys: list[str] | None = None,
    versions: dict[str, list[ObjectVersion]] | None = None,
) -> tuple[BundleInfo, list[Failure]]:
    """Checks 1, 2 and (when the store is online) 4 for the bundle at `prefix`."""
    env_key = prefix + ENVELOPE_NAME
    env_uri = store.uri(env_key)
    info, failures = BundleInfo(prefix), []

    def fail(key: str, check: str, message: str) -> None:
        failures.append(Failure(store.uri(key), check, message))

    info.envelope_bytes = store.read(env_key)
    if info.envelope_bytes is None:
        return info, [Failure(env_uri, "envelope", "missing")]
    try:
        env = parse_envelope(info.envelope_bytes)
    except EnvelopeError as exc:
        return info, [Failure(env_uri, "envelope", str(exc))]
    info.envelope = env
    if env.payload_type != PAYLOAD_TYPE:
        fail(env_key, "payload_type", f"payloadType is {env.payload_type!r}")
    if (
        env.statement.get("_type") != STATEMENT_TYPE
        or env.statement.get("predicateType") != PREDICATE_TYPE
    ):
        fail(env_key, "statement", "not an in-toto v1 statement of compliance-jobs")
    sig_problem = _check_signature(env, trust)
    if sig_problem:
        fail(env_key, *sig_problem)
    place_problem = _check_place(store, prefix, env)
    if place_problem:
        fail(env_key, "replay", place_problem)
    info.valid = not failures

    subjects: dict[str, str] = {}
    for s in env.statement.get("subject") or []:
        name = s.get("name") if isinstance(s, dict) else None
        digest = (s.get("digest") or {}).get("sha256") if isinstance(s, dict) else None
        if not isinstance(name, str) or not isinstance(digest, str):
            fail(env_key, "statement", "malformed subject entry")
            continue
        subjects[name] = digest
    for name, digest in sorted(subjects.items()):
        data = store.read(prefix + name)
        if data is None:
            fail(prefix + name, "subject_missing", "listed in the statement but absent")
        elif sha256_hex(data) != digest:
            fail(
                prefix + name,
                "subject_digest",
                f"sha256 {sha256_hex(data)[:16]}… != {digest[:16]}…",
            )
    present = keys if keys is not None else list(store.keys(prefix))
    for key in sorted(set(present) - {prefix + n for n in subjects} - {env_key}):
        fail(key, "extra_object", "in the bundle but not a subject")
    if isinstance(store, S3Store):
        failures.extend(
            _online(store, prefix, [prefix + n for n in subjects] + [env_key], retention_days)
        )
    return info, failures


def _online(
    store: S3Store, prefix: str, expected: list[str], retention_days: int | None
) -> list[Failure]:
    """Check 4: exactly one version each; COMPLIANCE lock held for the configured retention."""
    failures: list[Failure] = []
    versions = store.versions(prefix)
    for key, vs in sorted(versions.items()):
        markers = sum(v.is_delete_marker for v in vs)
        real = len(vs) - markers
        if real != 1 or markers:
            failures.append(
                Failure(
                    store.uri(key),
                    "versions",
                    f"{real} versions and {markers} delete markers (expected 1 version)",
                )
            )
    for key in expected:
        if not any(not v.is_delete_marker for v in versions.get(key, [])):
            continue  # absent: already a subject_missing failure
        head = store.lock_info(key)
        if head is None:
            continue  # latest is a delete marker: already subject_missing + versions
        mode = head.get("ObjectLockMode")
        if mode != "COMPLIANCE":
            failures.append(
                Failure(store.uri(key), "object_lock", f"lock mode is {mode or 'none'}")
            )
            continue
        until: datetime | None = head.get("ObjectLockRetainUntilDate")
        written: datetime | None = head.get("LastModified")
        if (
            retention_days
            and until
            and written
            and until < written + timedelta(days=retention_days) - RETENTION_SLACK
        ):
            failures.append(
                Failure(
                    store.uri(key),
                    "retention",
                    f"retained until {until:%Y-%m-%d}, less than {retention_days} days",
                )
            )
    return failures
