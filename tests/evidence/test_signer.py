"""Signers: local PEM (plain and encrypted) and AWS KMS via moto server; secrets stay secret."""

from __future__ import annotations

import base64
import hashlib

import boto3
import pytest
from cryptography.hazmat.primitives import serialization

from tasks.common.errors import ConfigError
from tasks.evidence import load_signer
from tasks.evidence.dsse import PAYLOAD_TYPE, pae
from tasks.evidence.signer import generate_key_files, load_public_key, verify_signature

PASSWORD = "correct-horse-battery-staple-42"


def test_keyid_is_sha256_of_der_spki(keypair, signer):
    pub = load_public_key(keypair[1].read_bytes())
    der = pub.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert signer.keyid == hashlib.sha256(der).hexdigest() == keypair[2]


def test_local_signature_verifies_over_pae(keypair, signer):
    msg = pae(PAYLOAD_TYPE, b'{"a":1}')
    assert msg == b'DSSEv1 28 application/vnd.in-toto+json 7 {"a":1}'
    sig = signer.sign(msg)
    pub = load_public_key(keypair[1].read_bytes())
    assert verify_signature(pub, sig, msg)
    assert not verify_signature(pub, sig, msg + b" ")


def test_private_key_file_is_private(keypair):
    assert keypair[0].stat().st_mode & 0o077 == 0


def test_signer_repr_and_str_carry_no_key(keypair, signer):
    pem = keypair[0].read_text()
    body = "".join(pem.splitlines()[1:-1])
    for text in (repr(signer), str(signer), f"{signer!r}"):
        assert body[:20] not in text and "PRIVATE" not in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(signer)


def test_encrypted_key_needs_password_and_errors_hide_it(tmp_path, monkeypatch):
    priv, _, fp = generate_key_files(tmp_path, PASSWORD.encode())
    assert b"ENCRYPTED" in priv.read_bytes()
    monkeypatch.setenv("KEY_PW", PASSWORD)
    assert load_signer(str(priv), password_env="KEY_PW").keyid == fp
    monkeypatch.setenv("KEY_PW", "wrong-password-123")
    with pytest.raises(ConfigError) as exc:
        load_signer(str(priv), password_env="KEY_PW")
    msg = str(exc.value)
    assert "wrong password" in msg and "wrong-password-123" not in msg and PASSWORD not in msg
    assert "\n" not in msg and exc.value.__cause__ is None
    with pytest.raises(ConfigError, match="is encrypted"):
        load_signer(str(priv))
    monkeypatch.delenv("KEY_PW")
    with pytest.raises(ConfigError, match="KEY_PW is not set"):
        load_signer(str(priv), password_env="KEY_PW")


def test_bad_key_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_signer(str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(ConfigError, match="junk.pem: not a PEM private key"):
        load_signer(str(junk))
    with pytest.raises(ConfigError, match="no signing key"):
        load_signer("")


def test_kms_signer_on_moto_server(s3_server, keypair):
    kms = boto3.client("kms", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/evidence-test", TargetKeyId=key)
    signer = load_signer("kms:alias/evidence-test", kms_client=kms)
    der = kms.get_public_key(KeyId=key)["PublicKey"]
    assert signer.keyid == hashlib.sha256(der).hexdigest()
    msg = pae(PAYLOAD_TYPE, b'{"x": "y"}')
    sig = signer.sign(msg)
    assert verify_signature(load_public_key(signer.public_pem), sig, msg)
    assert "kms:" not in repr(signer) or "alias/evidence-test" in repr(signer)
    with pytest.raises(ConfigError, match="exceeds 4096"):
        signer.sign(b"x" * 4097)
    # DER signature, base64 in the envelope: decodable the way openssl expects
    assert sig[0] == 0x30 and base64.b64decode(base64.b64encode(sig)) == sig


def test_kms_key_of_wrong_spec_is_refused(s3_server):
    kms = boto3.client("kms", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    with pytest.raises(ConfigError, match="ECC_NIST_P256"):
        load_signer(f"kms:{key}", kms_client=kms)


def test_bundle_signed_with_kms_verifies_like_a_local_one(s3_server, s3, buckets):
    from tasks.common.storage import S3Store
    from tasks.evidence import publish_bundle
    from tasks.evidence.verify import Trust
    from tasks.evidence.verify_chain import verify_job

    from .conftest import day_period

    kms = boto3.client("kms", endpoint_url=s3_server.endpoint_url, region_name="us-east-1")
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signer = load_signer(f"kms:{key}", kms_client=kms)
    for i in (1, 2):
        publish_bundle(
            s3,
            buckets.reports_bucket,
            "access-review",
            {"report.json": b"%d" % i},
            signer=signer,
            period=day_period(i),
            status="pass",
            counts={},
            retention_days=1,
        )
    trust = Trust.from_pems([("kms", signer.public_pem)])
    report = verify_job(
        S3Store(s3, buckets.reports_bucket), "access-review", trust, retention_days=1
    )
    assert report.failures == [] and len(report.chain) == 2
