"""Signers: a local ECDSA P-256 PEM key file or an AWS KMS key (ECC_NIST_P256).

Both produce a DER ECDSA-SHA256 signature over the DSSE PAE. The private key never leaves
the object (no repr, no str, no exception message carries it or its password).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tasks.common.errors import ConfigError

from .dsse import KMS_RAW_LIMIT


class Signer(Protocol):
    keyid: str
    public_pem: bytes

    def sign(self, message: bytes) -> bytes: ...


def spki_der(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def fingerprint(public_key: ec.EllipticCurvePublicKey) -> str:
    """keyid / key_fingerprint: lowercase hex SHA-256 of the DER SubjectPublicKeyInfo."""
    return hashlib.sha256(spki_der(public_key)).hexdigest()


def public_pem(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pem: bytes, source: str = "public key") -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{source}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{source}: not an ECDSA P-256 public key")
    return key


def verify_signature(public_key: ec.EllipticCurvePublicKey, sig: bytes, message: bytes) -> bool:
    try:
        public_key.verify(sig, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


class LocalSigner:
    """ECDSA P-256 key from a PEM file (optionally encrypted)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, source: str) -> None:
        self.__key = key  # name-mangled: keep it out of vars() dumps in reprs of callers
        self.source = source
        pub = key.public_key()
        self.keyid = fingerprint(pub)
        self.public_pem = public_pem(pub)

    def sign(self, message: bytes) -> bytes:
        return self.__key.sign(message, ec.ECDSA(hashes.SHA256()))

    def __repr__(self) -> str:
        return f"LocalSigner(keyid={self.keyid[:16]}…, source={self.source})"

    __str__ = __repr__

    def __getstate__(self) -> Any:  # never pickle a private key into a Prefect result
        raise TypeError("signers cannot be serialised")


class KmsSigner:
    """An AWS KMS asymmetric key (ECC_NIST_P256, ECDSA_SHA_256, MessageType=RAW)."""

    def __init__(self, kms_client: Any, key_id: str) -> None:
        self._kms = kms_client
        self.key_id = key_id
        resp = kms_client.get_public_key(KeyId=key_id)
        if resp.get("KeySpec", resp.get("CustomerMasterKeySpec")) != "ECC_NIST_P256":
            raise ConfigError(f"kms:{key_id}: key spec must be ECC_NIST_P256")
        pub = serialization.load_der_public_key(resp["PublicKey"])
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        self.keyid = fingerprint(pub)
        self.public_pem = public_pem(pub)

    def sign(self, message: bytes) -> bytes:
        if len(message) > KMS_RAW_LIMIT:
            raise ConfigError(f"kms:{self.key_id}: message of {len(message)} bytes exceeds 4096")
        resp = self._kms.sign(
            KeyId=self.key_id,
            Message=message,
            MessageType="RAW",
            SigningAlgorithm="ECDSA_SHA_256",
        )
        return resp["Signature"]

    def __repr__(self) -> str:
        return f"KmsSigner(key_id={self.key_id}, keyid={self.keyid[:16]}…)"

    __str__ = __repr__


def load_signer(
    spec: str, kms_client: Any = None, password_env: str | None = None
) -> LocalSigner | KmsSigner:
    """`path/key.pem` or `kms:<key id or alias>`; one-line ConfigError without secrets."""
    if not spec:
        raise ConfigError("no signing key configured (COMPLIANCE_SIGNING_KEY)")
    if spec.startswith("kms:"):
        if kms_client is None:
            import boto3

            kms_client = boto3.client("kms", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
        return KmsSigner(kms_client, spec[4:])
    path = Path(spec)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: signing key file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read signing key ({exc.strerror})") from None
    password = None
    if password_env:
        value = os.environ.get(password_env)
        if not value:
            raise ConfigError(f"{path}: password variable {password_env} is not set")
        password = value.encode()
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except TypeError:
        # cryptography says "Password was not given but private key is encrypted" or v.v.
        need = (
            "is encrypted; set signing_key_password_env" if password is None else "is not encrypted"
        )
        raise ConfigError(f"{path}: private key {need}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"{path}: not a PEM private key, or wrong password") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"{path}: signing key must be ECDSA P-256")
    return LocalSigner(key, str(path))


def generate_key_files(out_dir: Path, password: bytes | None = None) -> tuple[Path, Path, str]:
    """Write signing-key.pem (0600) and signing-key.pub.pem; return (priv, pub, fingerprint)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    priv_path, pub_path = out_dir / "signing-key.pem", out_dir / "signing-key.pub.pem"
    for p in (priv_path, pub_path):
        if p.exists():
            raise ConfigError(f"{p}: already exists; refusing to overwrite a key")
    key = ec.generate_private_key(ec.SECP256R1())
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    pub_path.write_bytes(public_pem(key.public_key()))
    return priv_path, pub_path, fingerprint(key.public_key())
