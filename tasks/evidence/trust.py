"""One trust resolution for every reader of bundles (spec, section Trust).

Anchors come from outside the bucket: PEM files and SHA-256 fingerprints given on the
command line (`--public-key`, `--trusted-key`), in `evidence.trusted_keys`, in
`COMPLIANCE_TRUSTED_KEYS`, and — for a job — the public half of its own signing key.
`keys/<fp>.pem` in a store is a candidate only: read when `fp` is pinned, never because it
is there. A key-rotation bundle (`reports/keys/…`, predicateType
`urn:compliance-jobs:key-rotation:v1`) that verifies under a trusted key adds the key it
names; one signed by any other key adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tasks.common.errors import ConfigError, InputError
from tasks.common.models import Period, to_utc
from tasks.common.settings import FINGERPRINT_RE, StorageSettings
from tasks.common.storage import ObjectVersion, S3Store, Store

from .dsse import ENVELOPE_NAME, ROTATION_PREDICATE_TYPE, sha256_hex
from .signer import fingerprint, load_public_key, public_pem
from .store import KEYS
from .verify import (
    BUNDLE_KEY_RE,
    ROTATION_JOB,
    BundleInfo,
    Failure,
    Trust,
    check_signed,
    read_capped,
    verify_bundle,
)

ROTATION_KEY_FILE = "new-key.pem"  # the rotation bundle's subject holding the new public key
MAX_PEM_BYTES = 64 * 1024
HOW_TO_PIN = (
    "no trusted key: pin the key fingerprint you were given out of band with"
    " --trusted-key <sha256> (or --public-key PEM, evidence.trusted_keys in compliance.yaml,"
    " COMPLIANCE_TRUSTED_KEYS)"
)


class NoTrustAnchor(ConfigError):
    """A reader was given no key to trust: it refuses rather than trust the bucket."""

    def __init__(self, message: str = HOW_TO_PIN) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class Anchors:
    """What a reader was given out of band: PEMs (source, bytes) and pinned fingerprints."""

    pems: tuple[tuple[str, bytes], ...] = ()
    fingerprints: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.pems or self.fingerprints)

    def __add__(self, other: Anchors) -> Anchors:
        fps = tuple(dict.fromkeys(self.fingerprints + other.fingerprints))
        return Anchors(self.pems + other.pems, fps)


def as_fingerprint(text: str) -> str | None:
    m = FINGERPRINT_RE.match(text.strip())
    return m.group(1).lower() if m else None


def pem_anchor(path: str | Path, source: str) -> Anchors:
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{source}: {path}: cannot read public key ({exc.strerror})") from None
    load_public_key(pem, f"{source}: {path}")  # a bad PEM is a one-line error now, not later
    return Anchors(pems=((str(path), pem),))


def parse_anchors(entries: Iterable[str], source: str) -> Anchors:
    """Each entry a SHA-256 fingerprint (64 hex, optional `sha256:`) or a PEM file path."""
    out = Anchors()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        fp = as_fingerprint(entry)
        out = out + (Anchors(fingerprints=(fp,)) if fp else pem_anchor(entry, source))
    return out


def fingerprint_anchors(values: Iterable[str], source: str = "--trusted-key") -> Anchors:
    fps = []
    for v in values:
        fp = as_fingerprint(v)
        if fp is None:
            raise ConfigError(f"{source} {v[:80]!r}: not a SHA-256 key fingerprint (64 hex)")
        fps.append(fp)
    return Anchors(fingerprints=tuple(fps))


def reader_anchors(
    settings: StorageSettings | None,
    public_keys: Iterable[str] = (),
    trusted_keys: Iterable[str] = (),
) -> Anchors:
    """A reader's anchors: --public-key files, --trusted-key fingerprints, and the configured
    evidence.trusted_keys / COMPLIANCE_TRUSTED_KEYS (all of them count)."""
    anchors = Anchors()
    for p in public_keys:
        anchors = anchors + pem_anchor(p, "--public-key")
    anchors = anchors + fingerprint_anchors(trusted_keys)
    if settings is not None:
        anchors = anchors + parse_anchors(settings.trusted_keys, "evidence.trusted_keys")
    return anchors


def job_anchors(settings: StorageSettings, extra_paths: Iterable[str] = ()) -> Anchors:
    """A job's anchors: its own signing key's public half plus what a reader would pin."""
    anchors = reader_anchors(settings) + parse_anchors(extra_paths, "trusted_public_keys")
    if settings.signing_key:
        from .cli_support import signer_from

        signer = signer_from(settings)
        own = Anchors(pems=((f"signing key {signer.keyid[:16]}", signer.public_pem),))
        anchors = own + anchors
    return anchors


def job_trust(client: Any, bucket: str, settings: StorageSettings) -> Trust:
    """What a job's writer trusts when it links its chain: its own signing key, the pinned
    keys (evidence.trusted_keys / COMPLIANCE_TRUSTED_KEYS) and the rotations those sign — so
    a job signing with a rotated key keeps linking to the bundles of the key it replaced."""
    trust, _ = resolve_trust(S3Store(client, bucket), job_anchors(settings))
    return trust


def resolve_trust(store: Store, anchors: Anchors) -> tuple[Trust, list[Failure]]:
    """The Trust a reader of `store` has: its anchors, pinned keys/ candidates, rotations.

    Raises NoTrustAnchor when there is no anchor at all. A pinned fingerprint whose
    keys/<fp>.pem is absent stays unresolved (its bundles fail `unknown_key`, saying so);
    one whose file holds another key is a `key` failure.
    """
    if not anchors:
        raise NoTrustAnchor()
    trust = Trust.from_pems(list(anchors.pems))
    failures: list[Failure] = []
    for fp in anchors.fingerprints:
        if fp in trust.keys:
            continue
        trust.unresolved.add(fp)
        key = f"{KEYS}{fp}.pem"
        data = read_capped(store, key, MAX_PEM_BYTES)
        if data is None:
            continue
        try:
            pub = load_public_key(data, key)
        except ConfigError as exc:
            failures.append(Failure(store.uri(key), "key", str(exc).split(": ", 1)[-1]))
            continue
        if fingerprint(pub) != fp:
            failures.append(
                Failure(store.uri(key), "key", f"holds key {fingerprint(pub)}, not the pinned {fp}")
            )
            continue
        trust.add(pub, f"pinned {fp[:16]}…, PEM from {store.uri(key)}")
    follow_rotations(store, trust)
    return trust, failures


def rotation_prefixes(store: Store) -> list[str]:
    out = set()
    for key in store.keys(f"reports/{ROTATION_JOB}/"):
        m = BUNDLE_KEY_RE.match(key)
        if m and m.group(2) == ROTATION_JOB and m.group(7) == ENVELOPE_NAME:
            out.add(m.group(1))
    return sorted(out)


def _rotated_key(store: Store, info: BundleInfo) -> Any:
    """The new key a verified rotation bundle introduces (None if it is not a rotation)."""
    env = info.envelope
    if env is None or env.predicate_type != ROTATION_PREDICATE_TYPE:
        return None
    rot = env.predicate.get("key_rotation")
    if not isinstance(rot, dict) or rot.get("old_key") != env.signatures[0][0]:
        return None
    digests = {s["name"]: s["digest"]["sha256"] for s in env.statement["subject"]}
    data = read_capped(store, info.prefix + ROTATION_KEY_FILE, MAX_PEM_BYTES)
    if data is None or sha256_hex(data) != digests.get(ROTATION_KEY_FILE):
        return None
    try:
        pub = load_public_key(data, ROTATION_KEY_FILE)
    except ConfigError:
        return None
    return pub if fingerprint(pub) == rot.get("new_key") else None


def follow_rotations(store: Store, trust: Trust) -> list[str]:
    """Add every key introduced by a rotation bundle that verifies under the trust so far
    (to a fixpoint, so old -> new -> newer works in any listing order). Returns them.

    Anyone who can put an object can plant rotation bundles: each is first checked the
    cheap way (one bounded envelope read, signatures[0] against the keys trusted so far);
    only one signed by a trusted key is verified in full (subjects, versions, locks), with
    one versions listing of reports/keys/ shared by all of them."""
    pending, added = rotation_prefixes(store), []
    versions: dict[str, list[ObjectVersion]] | None = None
    progress = True
    while pending and progress:
        progress = False
        for prefix in list(pending):
            _env, unsigned = check_signed(store, prefix, trust)
            if unsigned is not None:
                continue  # not (yet) signed by a key we trust, or unreadable: adds nothing
            if versions is None and isinstance(store, S3Store):
                versions = store.versions(f"reports/{ROTATION_JOB}/")
            info, failures = verify_bundle(store, prefix, trust, versions=versions)
            if failures:
                continue  # damaged: adds nothing
            pending.remove(prefix)
            pub = _rotated_key(store, info)
            if pub is not None and fingerprint(pub) not in trust.keys:
                added.append(trust.add(pub, f"rotation {store.uri(prefix + ENVELOPE_NAME)}"))
                progress = True
    return added


def publish_rotation(
    client: Any,
    bucket: str,
    signer: Any,
    new_public_pem: bytes,
    *,
    retention_days: int,
    generated_at: datetime | None = None,
    policy: Any = None,
    trust: Trust | None = None,
) -> Any:
    """Publish, signed by the current key, the statement that introduces the next one.

    A bundle under reports/keys/ whose only subject is the new public key (new-key.pem);
    its predicate's `key_rotation` names both fingerprints. A reader trusting the current
    key trusts the new one from then on (follow_rotations)."""
    from .writer import publish_bundle

    new = load_public_key(new_public_pem, "--new-public-key")
    new_fp = fingerprint(new)
    if new_fp == signer.keyid:
        raise InputError("--new-public-key is the current signing key; nothing to rotate")
    moment = to_utc(generated_at or datetime.now(UTC)).replace(microsecond=0)
    return publish_bundle(
        client,
        bucket,
        ROTATION_JOB,
        {ROTATION_KEY_FILE: public_pem(new)},
        signer=signer,
        period=Period(start=moment, end=moment + timedelta(seconds=1)),
        status="pass",
        counts={},
        retention_days=retention_days,
        generated_at=moment,
        policy=policy,
        predicate_type=ROTATION_PREDICATE_TYPE,
        extra_predicate={"key_rotation": {"old_key": signer.keyid, "new_key": new_fp}},
        trust=trust,
    )
