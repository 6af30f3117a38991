"""Arrow tables (the schema contract) to the pandas frames Great Expectations validates.

Deliberate dtypes, because GX's type expectations compare the column dtype:
- strings stay pandas 3's default `str` dtype (StringDtype, NaN for missing), never
  `object`; the suites expect type "str" (`expect_column_values_to_be_of_type`, which
  compares the dtype's scalar type, so "str" matches pandas 3 strings exactly);
- integers become nullable `Int16/Int32/Int64` so one missing value does not turn a
  column into float64 (the suites expect "int16"/"int32"/"int64");
- booleans become nullable `boolean` (suites: "bool"); floats stay float64;
- timestamps stay `datetime64[ms, UTC]` (suites: "Timestamp", which a naive column fails).
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pyarrow as pa

from tasks.common.errors import InputError

_NULLABLE = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

ROSTER_COLUMNS = ("user", "email", "team", "manager", "status", "aws_user")


def to_frame(table: pa.Table) -> pd.DataFrame:
    """A RangeIndex frame (GX's unexpected_index_list are then row positions)."""
    return table.to_pandas(types_mapper=_NULLABLE.get, self_destruct=False)


def parse_roster(data: bytes, source: str) -> pd.DataFrame:
    """raw/org/roster.csv -> frame of str columns; an unreadable file is one InputError."""
    try:
        text = data.decode("utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(text)))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(
            f"{source}: roster is not a readable UTF-8 CSV ({type(exc).__name__})"
        ) from None
    if rows and "user" not in rows[0]:
        raise InputError(f"{source}: roster has no 'user' column")
    frame = pd.DataFrame(rows, columns=list(rows[0].keys()) if rows else list(ROSTER_COLUMNS))
    return frame.astype("str").replace("", None) if len(frame) else frame.astype("str")


def join_team(table: pa.Table, roster: pd.DataFrame | None) -> pa.Table:
    """Fill the `team` column from the roster (user -> team); users not on it stay null."""
    if roster is None or not {"user", "team"} <= set(roster.columns) or not len(roster):
        return table
    mapping = (
        roster.dropna(subset=["user"]).drop_duplicates("user").set_index("user")["team"].to_dict()
    )
    users = table.column("user").to_pandas()
    teams = users.map(mapping)
    existing = table.column("team").to_pandas()
    filled = teams.where(teams.notna(), existing)
    idx = table.column_names.index("team")
    array = pa.array(filled.astype(object).where(filled.notna(), None), type=pa.string())
    return table.set_column(idx, table.schema.field("team"), array)
