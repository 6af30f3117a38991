"""`reports list` (and download's claim reading) over hostile envelopes: one row status
per bad envelope, never a traceback (issue 13, items 3 and 5). moto over HTTP."""

from __future__ import annotations

import base64
import json

import pytest
from click.testing import CliRunner

from .chainkit import JOB, client_for, make_signer, new_lock_bucket, plant, publish_day


def envelope(statement: bytes | str) -> bytes:
    payload = statement if isinstance(statement, bytes) else statement.encode()
    return json.dumps(
        {
            "payloadType": "application/vnd.in-toto+json",
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "0" * 64, "sig": "AAAA"}],
        }
    ).encode()


def statement(**predicate) -> str:
    base = {"job": JOB, "run_id": "r", "prefix": "p"}
    return json.dumps(
        {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "r", "digest": "abc"}],
            "predicateType": "urn:compliance-jobs:report:v1",
            "predicate": {**base, **predicate},
        }
    )


HOSTILE = {
    "subject_digest_string": envelope(statement()),
    "subject_is_5": envelope(statement().replace('[{"name": "r", "digest": "abc"}]', "5")),
    "deep_nesting": envelope("[" * 100_000 + "]" * 100_000),
    "deep_envelope": b"[" * 100_000 + b"]" * 100_000,
    "over_cap": b" " * (1 << 20) + envelope(statement()),
    "not_json": b"\xff\xfe{",
    "counts_list_period_string": envelope(statement(counts=[1, 2], period="x", status={"a": 1})),
    "predicate_list": envelope(statement().replace('"predicate": {', '"predicate": [{') + "]"),
}


@pytest.fixture(scope="module")
def hostile_bucket(s3_server, tmp_path_factory):
    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    signer = make_signer(tmp_path_factory.mktemp("k"))
    publish_day(client, bucket, signer, 1)
    for i, (name, body) in enumerate(sorted(HOSTILE.items())):
        run = f"20261102T0600{i:02d}Z-{name[:8].replace('_', '0')}"
        plant(client, bucket, f"reports/{JOB}/2026/11/02/{run}/attestation.dsse.json", body)
    return client, bucket, signer


def test_reports_list_prints_every_row(hostile_bucket, s3_server, tmp_path):
    from cli.evidence import reports

    client, bucket, signer = hostile_bucket
    (tmp_path / "none.yaml").write_text("{}\n")
    env = {
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "COMPLIANCE_REPORTS_BUCKET": bucket,
        "COMPLIANCE_DATA_BUCKET": "unused",
        "COMPLIANCE_CONFIG": str(tmp_path / "none.yaml"),
    }
    for args in (["list"], ["list", "--json"]):
        args += ["--trusted-key", signer.keyid]
        res = CliRunner().invoke(reports, args, env=env)
        assert res.exit_code == 0, res.output
        assert "Traceback" not in res.output
    rows = json.loads(res.stdout)["bundles"]
    assert len(rows) == 1 + len(HOSTILE)
