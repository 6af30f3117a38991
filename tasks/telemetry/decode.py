"""Reading a ui_messages.json: the array, and why a message fits no layout.

A file that is not a JSON array is one quarantined record; a non-UTF-8 byte quarantines
only the messages that hold it; a message is checked against ClineMessage's types
(`ts` a number, `type` ask|say with its ask/say value, `text` a string).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from tasks.telemetry.quarantine import qrow

TS_MAX = 32503680000000  # year 3000 in ms: anything beyond is not a Roo Code timestamp


def decode_messages(raw: bytes, source: str, quarantine: list) -> tuple[list | None, bool]:
    """(The message array of a ui_messages.json or None when the file is quarantined as
    one record, whether it was decoded leniently).

    A non-UTF-8 byte quarantines only the messages that contain it (`not_utf8`).
    """
    lenient = False
    try:
        data = _loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            try:
                data = json.loads(raw.decode("utf-8", "surrogateescape"))
                lenient = True
            except ValueError:
                quarantine.append(
                    qrow(source, f"byte {uexc.start}", "not_utf8", "not UTF-8 and not JSON", raw)
                )
                return None, False
        else:
            quarantine.append(
                qrow(source, f"byte {exc.pos}", "not_json", f"not JSON: {exc.msg}", raw)
            )
            return None, False
    if type(data) is str:  # the whole array encoded twice
        try:
            data = orjson.loads(data)
        except orjson.JSONDecodeError:
            quarantine.append(qrow(source, "file", "not_json", "a JSON string, not an array", raw))
            return None, False
    if type(data) is not list:
        quarantine.append(
            qrow(source, "file", "not_array", f"top level is {type(data).__name__}", raw)
        )
        return None, False
    return data, lenient


def _loads(raw: bytes) -> Any:
    """orjson, except that a number beyond a double's range (1e400) is infinity rather
    than an error, as in JavaScript's JSON.parse and in the typed decoder (typed.py)."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if "infinity" not in exc.msg:
            raise
        try:
            return json.loads(raw)
        except ValueError:
            raise exc from None


def _bad(m: Any) -> tuple[str, str] | None:
    """(reason, detail) for a message that fits no layout; None when it is fine."""
    if type(m) is not dict:
        return "bad_type", f"message is {type(m).__name__}, not an object"
    ts = m.get("ts")
    if ts is None:
        return "missing_ts", "message has no ts"
    if type(ts) is not int and type(ts) is not float:  # a JSON number (ms); floats floor
        return "bad_type", f"ts is {type(ts).__name__}, not a number"
    if not 0 <= ts < TS_MAX:
        return "bad_ts", f"ts {ts} is out of range"
    t = m.get("type")
    if t is None:
        return "missing_type", "message has no type"
    if t not in ("ask", "say"):
        return "bad_type", "type is neither ask nor say"
    kind = m.get(t)
    if type(kind) is not str:
        return "missing_kind", f"type {t} without a {t} value"
    text = m.get("text")
    if text is not None and type(text) is not str:
        return "bad_type", f"text is {type(text).__name__}, not a string"
    if _not_utf8(m):
        return "not_utf8", "message holds bytes that are not UTF-8"
    return None


def _not_utf8(m: dict) -> bool:
    """True when a message decoded with surrogateescape carries a non-UTF-8 byte."""
    try:
        orjson.dumps(m)
    except TypeError:
        return True
    return False


def _excerpt(m: Any) -> bytes | None:
    try:
        return orjson.dumps(m)[:800]
    except TypeError:
        return repr(m)[:800].encode("utf-8", "replace")


FIGURES = ("tokensIn", "tokensOut", "cacheWrites", "cacheReads", "cost")


def request_damage(text: str | None, data: Any) -> tuple[str, str] | None:
    """(reason, detail) for an api_req_started/finished whose figures Roo's webview would
    skip quietly: a non-empty text that is not a JSON object, or a figure that is present
    but not a number (`typeof !== "number"`; null, i.e. absent, is not damage).
    `data` is the parsed text (None when it did not parse)."""
    if not text:
        return None
    if type(data) is not dict:
        what = "not JSON" if data is None else f"JSON {type(data).__name__}, not an object"
        return "bad_request", f"request text is {what}: its tokens and cost are unknown"
    bad = [
        f"{k} is {type(v).__name__}"
        for k in FIGURES
        if (v := data.get(k)) is not None and not ((type(v) is int or type(v) is float) and v == v)
    ]
    if bad:
        return "bad_figure", ", ".join(bad) + ", not a number: left out of the totals"
    return None
