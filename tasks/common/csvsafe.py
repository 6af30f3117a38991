"""CSV cells that are safe to open in a spreadsheet (OWASP's CSV-injection rule).

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets. Such a cell is prefixed with a single quote,
which every spreadsheet shows as text; numbers stay numbers (a negative int or float, or a
string that is exactly a decimal number such as ``-0.5``, is data, not a formula).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number written as text ("-0.5", "+3", "-1e-3") is data, not a formula.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DICT_ONLY = ("restval", "extrasaction")


def safe_cell(value: Any) -> Any:
    """The value itself, or a quote-prefixed string when a spreadsheet would run it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(row: Sequence[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


def safe_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: safe_cell(v) for k, v in row.items()}


class SafeWriter:
    """csv.writer whose every cell passes through safe_cell."""

    def __init__(self, buf: io.StringIO, **kwargs: Any) -> None:
        self._w = csv.writer(buf, **kwargs)
        # csv quotes only cells holding a lineterminator character: with "\n" a bare "\r"
        # would be written unquoted and split the row on reading; such rows are quoted whole.
        self._quoted = csv.writer(buf, **{**kwargs, "quoting": csv.QUOTE_ALL})

    def writerow(self, row: Sequence[Any]) -> Any:
        cells = safe_row(row)
        if any(isinstance(c, str) and "\r" in c for c in cells):
            return self._quoted.writerow(cells)
        return self._w.writerow(cells)

    def writerows(self, rows: Iterable[Sequence[Any]]) -> None:
        for row in rows:
            self.writerow(row)


class SafeDictWriter(csv.DictWriter):
    """csv.DictWriter whose every cell passes through safe_cell (the header is ours)."""

    def __init__(self, f: io.StringIO, fieldnames: Sequence[str], **kwargs: Any) -> None:
        super().__init__(f, fieldnames, **kwargs)
        self.writer = SafeWriter(f, **{k: v for k, v in kwargs.items() if k not in _DICT_ONLY})

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow(safe_dict(rowdict))

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)
