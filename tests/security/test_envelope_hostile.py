"""The verifier never crashes on what it reads (issue 13, item 5, envelope half).

Each row of the issue's table, and a few more, is put in place of one envelope of a
three-bundle chain (downloaded tree, and the bucket itself): the result is one failure
line naming that object and the check — never AttributeError, TypeError, RecursionError
or OSError — and the other bundles are still verified. `reports list` still lists.
Which signature counts (spec, Trust): signatures[0], by a trusted key; the openssl recipe
agrees with the CLI on every ordering.
"""

# ruff: noqa: F401, F811 - pytest fixtures imported from trust_helpers
from __future__ import annotations

import base64
import json
import os
import shutil
import tracemalloc
from datetime import timedelta

import pytest

from tasks.evidence import publish_bundle
from tasks.evidence.dsse import (
    MAX_ENVELOPE_BYTES,
    PAYLOAD_TYPE,
    EnvelopeError,
    pae,
    parse_envelope,
    statement_bytes,
)
from tasks.evidence.store import LocalStore, S3Store
from tasks.evidence.verify import Trust, read_capped, verify_bundle
from tasks.evidence.verify_chain import verify_job
from tests.evidence.conftest import T0, day_period
from tests.evidence.helpers import daily_files, download_all, publish_day
from tests.evidence.test_tamper import run_recipe

from .trust_helpers import cli, cli_env, legit, rogue, upload_key

JOB = "telemetry-quality"
ENV = "attestation.dsse.json"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _publish(client, bucket, signer, i, trust=None):
    return publish_day(client, bucket, JOB, signer, i, trust)


@pytest.fixture(scope="module")
def chain(s3_server, legit, tmp_path_factory):
    from tests.evidence.helpers import client_for, new_lock_bucket

    client = client_for(s3_server)
    bucket = new_lock_bucket(client)
    prefixes = [_publish(client, bucket, legit[0], i).prefix for i in (1, 2, 3)]
    return download_all(client, bucket, tmp_path_factory.mktemp("chain")), prefixes


@pytest.fixture
def tree(chain, tmp_path):
    root, prefixes = chain
    shutil.copytree(root, tmp_path / "t")
    return tmp_path / "t", prefixes


@pytest.fixture(scope="module")
def trust(legit):
    return Trust.from_pems([("legit", legit[0].public_pem)])


def statement_of(root, prefix) -> dict:
    return json.loads(parse_envelope((root / prefix / ENV).read_bytes()).payload)


def signed(signer, payload: bytes) -> bytes:
    """A correctly signed envelope around arbitrary payload bytes."""
    sig = signer.sign(pae(PAYLOAD_TYPE, payload))
    env = {"payloadType": PAYLOAD_TYPE, "payload": b64(payload), "signatures": [{"keyid": signer.keyid, "sig": b64(sig)}]}  # fmt: skip
    return json.dumps(env).encode()


def unsigned(statement: dict) -> bytes:
    env = {"payloadType": PAYLOAD_TYPE, "payload": b64(json.dumps(statement).encode()), "signatures": [{"keyid": "x", "sig": ""}]}  # fmt: skip
    return json.dumps(env).encode()


def _edit(**changes):
    def make(root, prefix, signer):
        stmt = statement_of(root, prefix)
        for path, value in changes.items():
            cur = stmt
            *head, last = path.split(".")
            for part in head:
                cur = cur[int(part)] if isinstance(cur, list) else cur[part]
            cur[last if not isinstance(cur, list) else int(last)] = value
        return signed(signer, statement_bytes(stmt))

    return make


DEEP = b"[" * 100_000 + b"]" * 100_000

# name -> (builder(root, prefix, signer) -> envelope bytes, expected check, text in message)
HOSTILE = {
    "subject digest is a string": (
        lambda r, p, s: unsigned(
            {**statement_of(r, p), "subject": [{"name": "r", "digest": "abc"}]}
        ),  # fmt: skip
        "statement",
        "subject.0.digest",
    ),
    "subject is a number": (_edit(subject=5), "statement", "subject"),
    "100k-deep envelope": (lambda r, p, s: DEEP, "envelope", "nested too deeply"),
    "100k-deep statement": (lambda r, p, s: signed(s, DEEP), "statement", "nested too deeply"),
    "subject name with NUL": (
        _edit(**{"subject.0.name": "report\x00.json"}),
        "statement",
        "control character",
    ),  # fmt: skip
    "subject name of 300 chars": (
        _edit(**{"subject.0.name": "a" * 300}),
        "statement",
        "longer than 255",
    ),  # fmt: skip
    "subject name with ..": (
        _edit(**{"subject.0.name": "../../etc/passwd"}),
        "statement",
        "'..'",
    ),  # fmt: skip
    "duplicate key in envelope": (
        lambda r, p, s: (
            (r / p / ENV)
            .read_bytes()
            .replace(b'{"payloadType"', b'{"payloadType": "x", "payloadType"', 1)
        ),  # fmt: skip
        "envelope",
        "duplicate key 'payloadType'",
    ),
    "duplicate key in statement": (
        lambda r, p, s: signed(
            s,
            statement_bytes(statement_of(r, p)).replace(
                b'"status":"pass"', b'"status":"fail","status":"pass"'
            ),
        ),  # fmt: skip
        "statement",
        "duplicate key 'status'",
    ),
    "malformed JSON": (lambda r, p, s: b'{"payloadType": ', "envelope", "not valid JSON"),
    "not an object": (lambda r, p, s: b"[1, 2]", "envelope", "not a JSON object"),
    "not UTF-8": (lambda r, p, s: b"\xff\xfe\x00{", "envelope", "not valid JSON"),
    "signatures is a string": (
        lambda r, p, s: json.dumps(
            {"payloadType": PAYLOAD_TYPE, "payload": "e30=", "signatures": "x"}
        ).encode(),  # fmt: skip
        "envelope",
        "signatures",
    ),
    "keyid is a number": (
        lambda r, p, s: json.dumps(
            {
                "payloadType": PAYLOAD_TYPE,
                "payload": "e30=",
                "signatures": [{"keyid": 5, "sig": ""}],
            }
        ).encode(),  # fmt: skip
        "envelope",
        "signatures.0.keyid",
    ),
    "no signatures": (
        lambda r, p, s: json.dumps(
            {"payloadType": PAYLOAD_TYPE, "payload": "e30=", "signatures": []}
        ).encode(),  # fmt: skip
        "envelope",
        "signatures",
    ),
    "payload not base64": (
        lambda r, p, s: json.dumps(
            {
                "payloadType": PAYLOAD_TYPE,
                "payload": "%%%",
                "signatures": [{"keyid": "k", "sig": ""}],
            }
        ).encode(),  # fmt: skip
        "envelope",
        "base64",
    ),
    "previous digest is a string": (
        _edit(**{"predicate.previous": {"uri": "s3://b/k", "digest": "abc"}}),
        "statement",
        "predicate.previous.digest",
    ),  # fmt: skip
    "period is a list": (_edit(**{"predicate.period": [1, 2]}), "statement", "predicate.period"),
    "counts hold a string": (
        _edit(**{"predicate.counts": {"findings": "12"}}),
        "statement",
        "predicate.counts.findings",
    ),  # fmt: skip
    "predicate is null": (_edit(predicate=None), "statement", "predicate"),
    "huge number": (
        lambda r, p, s: signed(
            s,
            statement_bytes(statement_of(r, p)).replace(
                b'"findings":2}', b'"findings":' + b"9" * 5000 + b"}"
            ),
        ),
        "statement",
        "not valid JSON",
    ),  # fmt: skip
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_envelope_is_one_failure_and_the_chain_is_still_verified(tree, trust, legit, case):
    root, prefixes = tree
    build, check, text = HOSTILE[case]
    target = root / prefixes[1] / ENV
    target.write_bytes(build(root, prefixes[1], legit[0]))
    with pytest.raises(EnvelopeError) as exc:
        parse_envelope(target.read_bytes())
    assert exc.value.check == check and text in str(exc.value)
    report = verify_job(LocalStore(root), JOB, trust)
    mine = [f for f in report.failures if f.object == str(target)]
    assert [(f.check, text in f.message) for f in mine] == [(check, True)]
    assert all("\n" not in f.line() for f in report.failures)
    # the others were verified: the first is valid, the last fails only its link
    valid = {b.prefix for b in report.bundles if b.valid}
    assert valid == {prefixes[0], prefixes[2]}
    others = {(f.object.rsplit("/", 2)[-2], f.check) for f in report.failures if f not in mine}
    assert {c for _, c in others} <= {"chain_link", "orphan", "extra_object"}


def test_envelope_over_the_cap_is_not_read(tree, trust):
    """The issue's 96 MB envelope: refused after reading 1 MiB + 1 bytes (sparse file)."""
    root, prefixes = tree
    target = root / prefixes[2] / ENV
    with target.open("r+b") as fh:
        fh.truncate(96 * 1024 * 1024)
    tracemalloc.start()
    try:
        _, failures = verify_bundle(LocalStore(root), prefixes[2], trust)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(f.check, f.message) for f in failures] == [
        ("envelope", f"envelope is over {MAX_ENVELOPE_BYTES} bytes; not parsed")
    ]
    assert peak < 8 * MAX_ENVELOPE_BYTES, peak


def test_bucket_with_hostile_envelopes_still_lists_verifies_and_downloads(
    s3, buckets, legit, tmp_path
):
    bucket = buckets.reports_bucket
    upload_key(s3, bucket, legit[0])
    good = [_publish(s3, bucket, legit[0], i) for i in (1, 2)]
    bad_prefixes = []
    for n, body in enumerate(
        [
            unsigned({"subject": [{"name": "r", "digest": "abc"}]}),
            unsigned({"subject": 5}),
            DEEP,
            b"{" * 10 + b"x" * (3 * MAX_ENVELOPE_BYTES),  # over the cap: ranged GET only
        ]
    ):
        prefix = f"reports/{JOB}/2026/11/0{n + 5}/20261105T060000Z-0000000{n}/"
        s3.put_object(Bucket=bucket, Key=prefix + ENV, Body=body)
        bad_prefixes.append(prefix)
    big = read_capped(S3Store(s3, bucket), bad_prefixes[-1] + ENV)
    assert len(big) == MAX_ENVELOPE_BYTES + 1

    env = cli_env(buckets, tmp_path)
    pin = ("--trusted-key", legit[2])
    listed = cli(env, "reports", "list", "--job", JOB, "--json", *pin)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["bundles"]
    assert [r["status"] for r in rows] == ["pass", "pass"] + [
        "untrusted (statement)",
        "untrusted (statement)",
        "untrusted (envelope)",
        "untrusted (envelope)",
    ]
    res = cli(env, "reports", "verify", "--job", JOB, "--json", *pin)
    out = json.loads(res.stdout)
    assert res.exit_code == 1 and out["bundles"] == 6
    bad = {f["object"].split(f"s3://{bucket}/")[1] for f in out["failures"]}
    assert bad == {p + ENV for p in bad_prefixes}
    dest = tmp_path / "dl"
    res = cli(env, "reports", "download", "--job", JOB, "--to", str(dest), "--json", *pin)
    assert res.exit_code == 1 and json.loads(res.stdout)["failures"]
    assert {g.prefix for g in good} <= {p + "/" for p in _dirs(dest)}


def _dirs(dest):
    for dirpath, _, files in os.walk(dest):
        if ENV in files:
            yield os.path.relpath(dirpath, dest)


def test_verify_job_with_no_bundle_fails_with_one_line(s3, buckets, legit, tmp_path):
    res = cli(cli_env(buckets, tmp_path), "reports", "verify", "--job", "no-such-job", "--trusted-key", legit[2])  # fmt: skip
    assert res.exit_code == 1
    assert res.output == (
        f"s3://{buckets.reports_bucket}/reports/no-such-job/: no_bundles: no committed bundle of this job\n"
    )
    # only an incomplete run (files, no envelope) is no better
    prefix = "reports/half-done/2026/11/01/20261101T060000Z-00000000/"
    s3.put_object(Bucket=buckets.reports_bucket, Key=prefix + "report.json", Body=b"{}")
    res = cli(cli_env(buckets, tmp_path), "reports", "verify", "--job", "half-done", "--trusted-key", legit[2])  # fmt: skip
    assert res.exit_code == 1 and res.output.endswith("(1 incomplete runs)\n"), res.output


# ---- which signature counts: signatures[0], and openssl agrees ------------------------------


def _with_signatures(path, sigs):
    env = json.loads(path.read_text())
    env["signatures"] = sigs
    path.write_text(json.dumps(env))


@pytest.mark.parametrize(
    "order, check",
    [
        ("good,junk", None),
        ("bad-with-trusted-keyid,good", "signature"),
        ("untrusted-good,good", "unknown_key"),
    ],
)
def test_signatures_zero_counts_for_cli_and_openssl(tree, trust, legit, rogue, order, check):
    root, prefixes = tree
    folder = root / prefixes[2]
    path = folder / ENV
    payload = parse_envelope(path.read_bytes()).payload
    message = pae(PAYLOAD_TYPE, payload)
    good = {"keyid": legit[2], "sig": b64(legit[0].sign(message))}
    sigs = {
        "good": good,
        "junk": {"keyid": "junk", "sig": b64(b"junk")},
        "bad-with-trusted-keyid": {"keyid": legit[2], "sig": b64(rogue[0].sign(message))},
        "untrusted-good": {"keyid": rogue[2], "sig": b64(rogue[0].sign(message))},
    }
    _with_signatures(path, [sigs[name] for name in order.split(",")])
    _, failures = verify_bundle(LocalStore(root), prefixes[2], trust)
    assert [f.check for f in failures] == ([check] if check else [])
    recipe = run_recipe(folder, legit[1])
    assert (recipe.returncode == 0) == (check is None), recipe.stdout + recipe.stderr
