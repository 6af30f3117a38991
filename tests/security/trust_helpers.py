"""Helpers for the trust tests: a legitimate signer, a writer-role attacker with its own key,
a CLI root, and envelope surgery. Fixtures are imported by the test modules that use them
(no conftest here: other security suites share this folder)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.audit import audit
from cli.evidence import evidence, keys, reports, storage
from tasks.evidence.dsse import PAYLOAD_TYPE, make_envelope, pae, parse_envelope, statement_bytes
from tasks.evidence.signer import generate_key_files, load_signer
from tasks.evidence.store import put_locked


@click.group()
@click.option("--config", default=None)
def root(config):
    """Test root standing in for `compliance`."""


for _group in (keys, storage, evidence, reports, audit):
    root.add_command(_group)


def make_key(folder: Path):
    """(signer, public PEM path, fingerprint) of a fresh P-256 key."""
    priv, pub, fp = generate_key_files(folder)
    return load_signer(str(priv)), pub, fp


@pytest.fixture(scope="module")
def legit(tmp_path_factory):
    return make_key(tmp_path_factory.mktemp("legit"))


@pytest.fixture(scope="module")
def rogue(tmp_path_factory):
    return make_key(tmp_path_factory.mktemp("rogue"))


def upload_key(client, bucket: str, signer) -> None:
    """What `storage init` does, and what a writer can do for its own key: keys/<fp>.pem."""
    put_locked(client, bucket, f"keys/{signer.keyid}.pem", signer.public_pem, 1, "text/plain")


def resign(envelope: Path, signer, edit=None) -> None:
    """Rewrite an envelope's statement (optionally edited) signed by `signer`."""
    stmt = json.loads(parse_envelope(envelope.read_bytes()).payload)
    if edit:
        edit(stmt)
    payload = statement_bytes(stmt)
    envelope.write_bytes(
        make_envelope(payload, signer.keyid, signer.sign(pae(PAYLOAD_TYPE, payload)))
    )


def cli(env: dict[str, str], *args: str):
    return CliRunner().invoke(root, list(args), env=env, catch_exceptions=False)


def cli_env(settings, tmp_path: Path, **extra: str) -> dict[str, str]:
    cfg = tmp_path / "empty.yaml"
    cfg.write_text("{}\n")
    return {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": settings.reports_bucket,
        "COMPLIANCE_DATA_BUCKET": settings.data_bucket,
        "COMPLIANCE_RETENTION_DAYS": "1",
        "COMPLIANCE_CONFIG": str(cfg),
        "COMPLIANCE_SIGNING_KEY": "",
        "COMPLIANCE_TRUSTED_KEYS": "",
        **extra,
    }
