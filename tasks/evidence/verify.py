"""Verification of one bundle (spec checks 1, 2 and 4) on an S3 bucket or a local folder.

Every problem becomes a Failure(object, check, message); check names are stable:
envelope, payload_type, statement, unknown_key, signature, replay, subject_missing,
subject_digest, extra_object, versions, object_lock, retention (plus the chain checks in
verify_chain: chain_link, fork, orphan, claim, stale, period_gap, and key).

Signature rule (spec, Trust): `signatures[0]` must name a trusted key and verify under
it — the same signature the by-hand openssl recipe checks. Which keys are trusted is
decided once, outside this module (tasks.evidence.trust.resolve_trust).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from tasks.common.errors import StorageError
from tasks.common.storage import ObjectVersion, S3Store, Store

from .dsse import (
    ENVELOPE_NAME,
    MAX_ENVELOPE_BYTES,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    ROTATION_PREDICATE_TYPE,
    STATEMENT_TYPE,
    Envelope,
    EnvelopeError,
    pae,
    parse_envelope,
    sha256_hex,
)
from .signer import fingerprint, load_public_key, verify_signature
from .store import KEYS

# reports/<job>/<YYYY>/<MM>/<DD>/<run_id>/<file>
BUNDLE_KEY_RE = re.compile(
    r"^(reports/([a-z0-9][a-z0-9-]*)/(\d{4})/(\d{2})/(\d{2})/([A-Za-z0-9-]+)/)(.+)$"
)
RETENTION_SLACK = timedelta(minutes=5)
ROTATION_JOB = "keys"  # key-rotation statements are published under reports/keys/


def printable(text: str) -> str:
    """One line whatever the bucket holds: control characters shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True)
class Failure:
    object: str
    check: str
    message: str

    def line(self) -> str:
        return printable(f"{self.object}: {self.check}: {self.message}")

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
    """Public keys a reader trusts, by fingerprint; built by tasks.evidence.trust only from
    anchors given out of band (and rotations they signed), never from what a bucket holds."""

    keys: dict[str, ec.EllipticCurvePublicKey] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # fingerprint -> why trusted
    unresolved: set[str] = field(default_factory=set)  # pinned, but no public key found

    def add(self, key: ec.EllipticCurvePublicKey, source: str) -> str:
        fp = fingerprint(key)
        if fp not in self.keys:
            self.keys[fp], self.sources[fp] = key, source
        self.unresolved.discard(fp)
        return fp

    @classmethod
    def from_pems(cls, pems: list[tuple[str, bytes]]) -> Trust:
        trust = cls()
        for source, pem in pems:
            trust.add(load_public_key(pem, source), source)
        return trust


def read_capped(store: Store, key: str, limit: int = MAX_ENVELOPE_BYTES) -> bytes | None:
    """At most limit+1 bytes of `key` (None when absent): a huge object is never read whole
    (S3: a ranged GET at the pinned first version; a folder: no symlink followed)."""
    return store.read(key, limit)


def envelope_failure(uri: str, exc: EnvelopeError) -> Failure:
    """`<uri>: statement: subject.0.digest: …`, not `statement: statement: …`."""
    return Failure(uri, exc.check, str(exc).removeprefix(f"{exc.check}: "))


def _short(keyid: str) -> str:
    return keyid[:16] + "…" if len(keyid) > 16 else keyid


def _check_signature(env: Envelope, trust: Trust) -> tuple[str, str] | None:
    """signatures[0] counts: it must be by a trusted key and verify (what openssl checks)."""
    keyid, sig = env.signatures[0]
    if keyid not in trust.keys:
        if keyid in trust.unresolved:
            return "unknown_key", (
                f"signatures[0] is by pinned key {_short(keyid)} but its public key was not"
                f" found (no {KEYS}{_short(keyid)}.pem, no rotation names it; give --public-key)"
            )
        if any(k in trust.keys for k, _ in env.signatures[1:]):
            return "unknown_key", (
                f"signatures[0] is by untrusted key {_short(keyid)}; the trusted signature"
                " must come first"
            )
        return "unknown_key", f"signed by untrusted key {_short(keyid)}"
    if not verify_signature(trust.keys[keyid], sig, pae(env.payload_type, env.payload)):
        return "signature", f"signatures[0] does not verify with key {_short(keyid)}"
    return None


def check_signed(store: Store, prefix: str, trust: Trust) -> tuple[Envelope | None, Failure | None]:
    """The envelope at `prefix` read (bounded), parsed and its signatures[0] checked — what a
    listing needs; verify_bundle does this and every other check."""
    uri = store.uri(prefix + ENVELOPE_NAME)
    try:
        data = read_capped(store, prefix + ENVELOPE_NAME)
    except StorageError as exc:
        return None, Failure(uri, "envelope", str(exc).rsplit(": ", 1)[-1])
    if data is None:
        return None, Failure(uri, "envelope", "missing")
    try:
        env = parse_envelope(data)
    except EnvelopeError as exc:
        return None, envelope_failure(uri, exc)
    problem = _check_signature(env, trust)
    return env, Failure(uri, *problem) if problem else None


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
    """Checks 1, 2 and (when the store is online) 4 for the bundle at `prefix`.
    `versions`: a versions listing covering `prefix` already made (else one is made)."""
    env_key = prefix + ENVELOPE_NAME
    env_uri = store.uri(env_key)
    info, failures = BundleInfo(prefix), []

    def fail(key: str, check: str, message: str) -> None:
        failures.append(Failure(store.uri(key), check, message))

    try:
        data = read_capped(store, env_key)
    except StorageError as exc:
        return info, [Failure(env_uri, "envelope", str(exc).rsplit(": ", 1)[-1])]
    if data is None:
        return info, [Failure(env_uri, "envelope", "missing")]
    try:
        env = parse_envelope(data)
    except EnvelopeError as exc:
        return info, [envelope_failure(env_uri, exc)]
    info.envelope_bytes = data
    info.envelope = env
    if env.payload_type != PAYLOAD_TYPE:
        fail(env_key, "payload_type", f"payloadType is {env.payload_type[:60]!r}")
    m = BUNDLE_KEY_RE.match(env_key)
    wanted = ROTATION_PREDICATE_TYPE if m and m.group(2) == ROTATION_JOB else PREDICATE_TYPE
    if env.statement.get("_type") != STATEMENT_TYPE or env.predicate_type != wanted:
        fail(env_key, "statement", f"not an in-toto v1 statement of type {wanted}")
    sig_problem = _check_signature(env, trust)
    if sig_problem:
        fail(env_key, *sig_problem)
    place_problem = _check_place(store, prefix, env)
    if place_problem:
        fail(env_key, "replay", place_problem)
    info.valid = not failures

    # parse_envelope has checked every subject's shape and name (a clean relative key)
    subjects = {s["name"]: s["digest"]["sha256"] for s in env.statement["subject"]}
    for name, digest in sorted(subjects.items()):
        found = store.digest(prefix + name)  # streamed: a ledger can be gigabytes
        if found is None:
            fail(prefix + name, "subject_missing", "listed in the statement but absent")
        elif found[0] != digest:
            fail(prefix + name, "subject_digest", f"sha256 {found[0][:16]}… != {digest[:16]}…")
    present = keys if keys is not None else list(store.keys(prefix))
    for key in sorted(set(present) - {prefix + n for n in subjects} - {env_key}):
        fail(key, "extra_object", "in the bundle but not a subject")
    if isinstance(store, S3Store):
        expected = [prefix + n for n in subjects] + [env_key]
        failures.extend(_online(store, prefix, expected, retention_days, versions))
    return info, failures


def _online(
    store: S3Store,
    prefix: str,
    expected: list[str],
    retention_days: int | None,
    listing: dict[str, list[ObjectVersion]] | None = None,
) -> list[Failure]:
    """Check 4: exactly one version each; COMPLIANCE lock held for the configured retention.
    `listing`: the caller's versions listing covering prefix (a chain is listed once)."""
    failures: list[Failure] = []
    if listing is None:
        versions = store.versions(prefix)
    else:
        versions = {k: vs for k, vs in listing.items() if k.startswith(prefix)}
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
