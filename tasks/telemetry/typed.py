"""Strict, typed decoding of a ui_messages.json for the columnar parser.

msgspec decodes the array straight into small structs holding only the fields ingestion
reads (unknown fields are skipped without building Python objects), and checks
ClineMessage's types on the way: `type` is "say" or "ask" with a string under that key,
`ts` an integer in range, `text`/`apiProtocol` strings. Any file that does not fit
exactly — a type mismatch, a float `ts`, bad JSON, non-UTF-8 bytes, nesting too deep —
returns None and goes to the reference path (decode.py + parse_task.py), which says
precisely what is wrong with which message.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from tasks.telemetry.decode import TS_MAX


class _Message(msgspec.Struct, gc=False, tag_field="type", kw_only=True):
    TYPE: ClassVar[str]
    ts: Annotated[int, msgspec.Meta(ge=0, lt=TS_MAX)]
    kind: str  # the value under the "say" or "ask" key
    text: str | None = None
    apiProtocol: str | None = None  # camelCase: Roo Code's own field names
    contextCondense: Any = None

    def as_dict(self) -> dict[str, Any]:
        """The message as the row parser's dict (for the few rows read in Python)."""
        d = {"ts": self.ts, "type": self.TYPE, self.TYPE: self.kind, "text": self.text}
        if self.contextCondense is not None:
            d["contextCondense"] = self.contextCondense
        return d


class Say(_Message, tag="say", kw_only=True):
    TYPE: ClassVar[str] = "say"
    kind: str = msgspec.field(name="say")


class Ask(_Message, tag="ask", kw_only=True):
    TYPE: ClassVar[str] = "ask"
    kind: str = msgspec.field(name="ask")


Message = Say | Ask
_DECODER = msgspec.json.Decoder(list[Message])


def decode_typed(raw: bytes) -> list[Message] | None:
    """The messages, or None when the file needs the reference path."""
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError, ValueError):
        return None
