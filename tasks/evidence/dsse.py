"""DSSE envelopes and in-toto statements, byte-exact as the evidence-bundle spec fixes them.

The signature covers the DSSE pre-authentication encoding (PAE) of the raw statement bytes;
the same PAE is what KMS signs with MessageType=RAW, so it must stay within KMS's 4096-byte
message limit.

Parsing treats the bytes as hostile: at most 1 MiB, duplicate JSON keys refused, nesting
bounded, every field type-checked (pydantic, strict) and subject names held to the same
rule as object keys. Any problem is one EnvelopeError naming the check, never a crash.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasks.common.safepath import key_problem

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:compliance-jobs:report:v1"
ROTATION_PREDICATE_TYPE = "urn:compliance-jobs:key-rotation:v1"
ENVELOPE_NAME = "attestation.dsse.json"
KMS_RAW_LIMIT = 4096
MAX_ENVELOPE_BYTES = 1 << 20  # the spec's cap; larger envelopes are refused unread


class EnvelopeError(ValueError):
    """The envelope is not a well-formed DSSE envelope of ours; `check` names the check."""

    def __init__(self, message: str, check: str = "envelope") -> None:
        super().__init__(message)
        self.check = check


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 SP len(type) SP type SP len(payload) SP payload (lengths in ASCII decimal)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(payload), payload)


def statement_bytes(statement: dict[str, Any]) -> bytes:
    # Compact and key-sorted: deterministic, and small enough for KMS RAW signing.
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def make_envelope(payload: bytes, keyid: str, sig: bytes) -> bytes:
    env = {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": keyid, "sig": base64.b64encode(sig).decode()}],
    }
    return json.dumps(env, indent=None, separators=(", ", ": ")).encode() + b"\n"


@dataclass(frozen=True)
class Envelope:
    payload_type: str
    payload: bytes
    signatures: list[tuple[str, bytes]]
    statement: dict[str, Any]

    @property
    def predicate(self) -> dict[str, Any]:
        pred = self.statement.get("predicate")
        return pred if isinstance(pred, dict) else {}

    @property
    def predicate_type(self) -> str:
        return str(self.statement.get("predicateType"))


# ---- shapes (strict: a string where an object belongs is an error, not a coercion) -------

_STRICT = ConfigDict(strict=True, extra="allow")


class _Signature(BaseModel):
    model_config = _STRICT
    keyid: str
    sig: str


class _Envelope(BaseModel):
    model_config = _STRICT
    payloadType: str
    payload: str
    signatures: list[_Signature] = Field(min_length=1)


class _Digest(BaseModel):
    model_config = _STRICT
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class _Subject(BaseModel):
    model_config = _STRICT
    name: str
    digest: _Digest


class _Link(BaseModel):
    model_config = _STRICT
    uri: str
    digest: _Digest


class _Period(BaseModel):
    model_config = _STRICT
    start: str
    end: str


class _Predicate(BaseModel):
    model_config = _STRICT
    job: str
    run_id: str
    prefix: str
    bucket: str | None = None
    period: _Period | None = None
    generated_at: str | None = None
    status: str | None = None
    counts: dict[str, int] | None = None
    inputs: list[dict[str, Any]] | None = None
    previous: _Link | None = None
    tool: dict[str, Any] | None = None


class _Statement(BaseModel):
    model_config = _STRICT
    type_: str = Field(alias="_type")
    subject: list[_Subject]
    predicateType: str
    predicate: _Predicate


class _DuplicateKey(Exception):  # not a ValueError: json must not swallow it
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


def strict_json(data: bytes | str, what: str, check: str = "envelope") -> Any:
    """json.loads that refuses duplicate keys and deep nesting with one EnvelopeError."""
    try:
        return json.loads(data, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise EnvelopeError(f"{what} has a duplicate key {exc.key[:40]!r}", check) from None
    except RecursionError:
        raise EnvelopeError(f"{what} is nested too deeply", check) from None
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError(f"{what} is not valid JSON", check) from None


def _shape(model: type[BaseModel], value: Any, what: str, check: str) -> None:
    try:
        model.model_validate(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top)"
        raise EnvelopeError(f"{what}: {where}: {err['msg']}", check) from None
    except RecursionError:
        raise EnvelopeError(f"{what} is nested too deeply", check) from None


def _check_subjects(statement: dict[str, Any]) -> None:
    seen: set[str] = set()
    for i, s in enumerate(statement["subject"]):
        name = s["name"]
        problem = key_problem(name)
        if problem:
            raise EnvelopeError(
                f"statement: subject.{i}.name {name[:60]!r}: {problem}", "statement"
            )
        if name in seen:
            raise EnvelopeError(f"statement: subject {name[:60]!r} listed twice", "statement")
        seen.add(name)


def parse_envelope(data: bytes) -> Envelope:
    """Parse envelope bytes; raise EnvelopeError with a one-line reason and its check."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope is over {MAX_ENVELOPE_BYTES} bytes; not parsed")
    env = strict_json(data, "envelope")
    if not isinstance(env, dict):
        raise EnvelopeError("envelope is not a JSON object")
    _shape(_Envelope, env, "envelope", "envelope")
    try:
        payload = base64.b64decode(env["payload"], validate=True)
        signatures = [
            (s["keyid"], base64.b64decode(s["sig"], validate=True)) for s in env["signatures"]
        ]
    except ValueError:
        raise EnvelopeError("envelope payload or signature is not valid base64") from None
    statement = strict_json(payload, "statement", "statement")
    if not isinstance(statement, dict):
        raise EnvelopeError("statement is not a JSON object", "statement")
    _shape(_Statement, statement, "statement", "statement")
    _check_subjects(statement)
    return Envelope(env["payloadType"], payload, signatures, statement)
