"""Property-based: hostile envelopes and statements never crash the verifier (hypothesis).

Three generators: arbitrary bytes and JSON as an envelope; envelopes whose every field may
be any JSON value; and real statements, signed by the trusted key, with one field anywhere
replaced by any JSON value (or a key duplicated). The verifier must answer with failures
(known check names, one line each) — or accept, when the change left a valid statement.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.evidence.dsse import (
    PAYLOAD_TYPE,
    EnvelopeError,
    make_envelope,
    pae,
    parse_envelope,
    statement_bytes,
)
from tasks.evidence.signer import generate_key_files, load_signer
from tasks.evidence.store import Store
from tasks.evidence.verify import Trust, verify_bundle
from tasks.evidence.verify_chain import verify_job
from tasks.evidence.writer import build_statement

PROFILE = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis folder in the tree; failures print their example
    derandomize=True,  # the same examples on every run (CI reproducible)
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
KNOWN_CHECKS = {
    "envelope", "payload_type", "statement", "unknown_key", "signature", "replay",
    "subject_missing", "subject_digest", "extra_object", "chain_link", "fork", "orphan", "claim",
}  # fmt: skip
JOB = "policy-drift"
PREFIX = f"reports/{JOB}/2026/11/01/20261101T060000Z-0badc0de/"
ENV = PREFIX + "attestation.dsse.json"


class MemStore(Store):
    """A reports tree in a dict: the verifier's read interface, nothing else."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.label = "mem://"

    def keys(self, prefix: str) -> Iterator[str]:
        yield from sorted(k for k in self.objects if k.startswith(prefix))

    def read(
        self, key: str, limit: int | None = None, version_id: str | None = None
    ) -> bytes | None:
        data = self.objects.get(key)
        return data if data is None or limit is None else data[: limit + 1]


_dir = __import__("tempfile").mkdtemp()
SIGNER = load_signer(str(generate_key_files(__import__("pathlib").Path(_dir))[0]))
TRUST = Trust.from_pems([("test", SIGNER.public_pem)])
FILES = {"report.json": b'{"ok": true}\n', "findings.csv": b"id\n"}


def valid_statement() -> dict:
    from hashlib import sha256

    predicate = {
        "job": JOB,
        "run_id": "20261101T060000Z-0badc0de",
        "bucket": "b",
        "prefix": PREFIX,
        "period": {"start": "2026-10-31T00:00:00Z", "end": "2026-11-01T00:00:00Z"},
        "generated_at": "2026-11-01T06:00:00Z",
        "status": "pass",
        "counts": {"findings": 1},
        "inputs": [],
        "previous": None,
        "tool": {"name": "compliance-jobs", "version": "0"},
    }
    return build_statement({n: sha256(d).hexdigest() for n, d in FILES.items()}, predicate)


def sign(payload: bytes) -> bytes:
    return make_envelope(payload, SIGNER.keyid, SIGNER.sign(pae(PAYLOAD_TYPE, payload)))


def store_with(envelope: bytes) -> MemStore:
    return MemStore({PREFIX + n: d for n, d in FILES.items()} | {ENV: envelope})


def assert_answers(envelope: bytes) -> list:
    """parse_envelope raises only EnvelopeError; verify_bundle and verify_job never raise."""
    try:
        parse_envelope(envelope)
    except EnvelopeError as exc:
        assert exc.check in {"envelope", "statement"} and "\n" not in str(exc)
    store = store_with(envelope)
    _, failures = verify_bundle(store, PREFIX, TRUST)
    report = verify_job(store, JOB, TRUST)
    for f in failures + report.failures:
        assert f.check in KNOWN_CHECKS and "\n" not in f.line(), f
    return failures


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),  # fmt: skip
    max_leaves=15,
)


def test_the_untouched_statement_verifies():
    assert assert_answers(sign(statement_bytes(valid_statement()))) == []


@PROFILE
@given(st.binary(max_size=600) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_as_an_envelope(data):
    assert assert_answers(data)  # never valid by chance


def _b64(v: bytes) -> str:
    return base64.b64encode(v).decode()


@PROFILE
@given(
    ptype=st.just(PAYLOAD_TYPE) | json_values,
    payload=json_values.map(lambda v: _b64(json.dumps(v).encode())) | json_values,
    sigs=st.lists(
        st.fixed_dictionaries(
            {
                "keyid": st.just(SIGNER.keyid) | json_values,
                "sig": st.text(max_size=12) | json_values,
            }
        ),  # fmt: skip
        max_size=3,
    )
    | json_values,
    extra=st.dictionaries(st.text(max_size=6), json_values, max_size=2),
)
def test_envelope_fields_of_any_type(ptype, payload, sigs, extra):
    env = {**extra, "payloadType": ptype, "payload": payload, "signatures": sigs}
    assert assert_answers(json.dumps(env).encode())


def _paths(value, here=()) -> Iterator[tuple]:
    yield here
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*here, i))


ALL_PATHS = [p for p in _paths(valid_statement()) if p]


def _set(doc, path, value):
    cur = doc
    for part in path[:-1]:
        cur = cur[part]
    cur[path[-1]] = value


@PROFILE
@given(path=st.sampled_from(ALL_PATHS), value=json_values)
def test_signed_statement_with_any_field_replaced(path, value):
    stmt = valid_statement()
    _set(stmt, path, value)
    failures = assert_answers(sign(statement_bytes(stmt)))
    if stmt != valid_statement():
        # a change the shapes allow (e.g. tool, inputs) may verify; a changed subject never
        assert failures or path[0] not in {"subject", "_type", "predicateType"}


@PROFILE
@given(key=st.sampled_from(["_type", "subject", "predicateType", "predicate"]), value=json_values)
def test_signed_statement_with_a_duplicate_key(key, value):
    body = statement_bytes(valid_statement())
    dup = b"{" + json.dumps(key).encode() + b":" + json.dumps(value).encode() + b"," + body[1:]
    failures = assert_answers(sign(dup))
    assert [f.check for f in failures] == ["statement"]
    assert "duplicate key" in failures[0].message


def _containers():
    stmt = valid_statement()
    stmt["predicate"]["previous"] = {"uri": "s3://b/k", "digest": {"sha256": "1" * 64}}
    out = []
    for p in _paths(stmt):
        cur = stmt
        for part in p:
            cur = cur[part]
        if p and isinstance(cur, dict | list) and p[:2] != ("predicate", "tool"):
            out.append(p)
    return stmt, out


LINKED, FRAGILE = _containers()  # every place that holds an object or a list


@PROFILE
@given(
    path=st.sampled_from(FRAGILE),
    value=st.text(max_size=8) | st.integers() | st.booleans(),  # null: an optional absent
)
def test_signed_statement_with_a_scalar_where_an_object_belongs(path, value):
    """Where readers index into the statement (subject digests, previous, period): any
    scalar there is a `statement` failure, not a crash further down the chain."""
    stmt = json.loads(json.dumps(LINKED))
    _set(stmt, path, value)
    assert assert_answers(sign(statement_bytes(stmt)))
