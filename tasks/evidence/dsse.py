"""DSSE envelopes and in-toto statements, byte-exact as the evidence-bundle spec fixes them.

The signature covers the DSSE pre-authentication encoding (PAE) of the raw statement bytes;
the same PAE is what KMS signs with MessageType=RAW, so it must stay within KMS's 4096-byte
message limit.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:compliance-jobs:report:v1"
ENVELOPE_NAME = "attestation.dsse.json"
KMS_RAW_LIMIT = 4096


class EnvelopeError(ValueError):
    """The envelope is not a well-formed DSSE envelope of ours."""


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


def parse_envelope(data: bytes) -> Envelope:
    """Parse envelope bytes; raise EnvelopeError with a one-line reason."""
    try:
        env = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("envelope is not valid JSON") from None
    if not isinstance(env, dict):
        raise EnvelopeError("envelope is not a JSON object")
    ptype, payload_b64, sigs = env.get("payloadType"), env.get("payload"), env.get("signatures")
    if not isinstance(ptype, str) or not isinstance(payload_b64, str):
        raise EnvelopeError("envelope lacks payloadType or payload")
    if not isinstance(sigs, list) or not sigs:
        raise EnvelopeError("envelope has no signatures")
    try:
        payload = base64.b64decode(payload_b64, validate=True)
        signatures = [(str(s["keyid"]), base64.b64decode(s["sig"], validate=True)) for s in sigs]
    except (ValueError, TypeError, KeyError):
        raise EnvelopeError("envelope payload or signature is not valid base64") from None
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise EnvelopeError("statement is not valid JSON") from None
    if not isinstance(statement, dict):
        raise EnvelopeError("statement is not a JSON object")
    return Envelope(ptype, payload, signatures, statement)
