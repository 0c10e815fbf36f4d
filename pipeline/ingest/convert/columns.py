"""The dataset's columns: the parsed frame of one block as the typed table ``convert`` writes.

The parser's frame (:class:`~pipeline.ingest.parsing.parse.ParsedPartition`) is built for
counting: its method is categorical, a missing latency is NaN, a format without a size gives
sizes of 0, its times are milliseconds. The dataset is for other tools, so its columns are typed
for them, exactly as :data:`SCHEMA` says:

* ``latency_ms`` is null (not NaN) when the line has no latency;
* ``bytes`` is null for every line of a format without a size field; a size written ``-`` is 0
  (the parser reads ``-`` as 0 and keeps no trace of it, so 0 and "none" are one value there);
* ``user_agent`` is null when the format has no user-agent field (a line that left it empty or
  ``-`` gives ``""``); ``client``, ``referer`` and ``host`` are as the parser gives them: null
  when the format or the line has none;
* ``time`` is ``timestamp[us, UTC]``, null when the line has none.

A partitioned dataset also has the string column ``day`` (``YYYY-MM-DD``, the UTC day of
``time``), which Dask's ``partition_on`` turns into the directories ``day=YYYY-MM-DD``; a line
without a time is in ``day=__HIVE_DEFAULT_PARTITION__``, the name Hive, pyarrow, DuckDB and
Polars read back as a null ``day``.

>>> from pipeline.ingest.parsing.parse import parse_lines
>>> parsed = parse_lines(["[GET] /a?q=1, status=200, time=12.5ms user-agent=curl/8.0"])
>>> table = dataset_table(parsed.frame, has_user_agent=True, has_bytes=False, partitioned=False)
>>> table.schema == SCHEMA
True
>>> table.to_pylist()[0]["bytes"], table.to_pylist()[0]["path"]
(None, '/a?q=1')
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: The columns of every dataset, in order (partitioned datasets add :data:`DAY`).
SCHEMA: Final = pa.schema(
    [
        ("method", pa.string()),
        ("path", pa.string()),
        ("status", pa.int16()),
        ("latency_ms", pa.float64()),
        ("bytes", pa.int64()),
        ("time", pa.timestamp("us", tz="UTC")),
        ("user_agent", pa.string()),
        ("client", pa.string()),
        ("referer", pa.string()),
        ("host", pa.string()),
    ]
)

#: The partition column of a dataset whose formats have a time.
DAY: Final[str] = "day"

#: The ``day`` of a line without a time: Hive's name for a null partition value.
NO_DAY: Final[str] = "__HIVE_DEFAULT_PARTITION__"

_DAY_MS: Final[int] = 86_400_000

#: String columns the parser leaves null when the format or the line has none.
_NULLABLE_STRINGS: Final[tuple[str, ...]] = ("client", "referer", "host")


def _strings(column: pd.Series) -> pa.Array:
    """A string column of the frame as Arrow ``string`` (missing values null)."""
    return pc.cast(pa.array(column, from_pandas=True), pa.string())


def schema(partitioned: bool) -> pa.Schema:
    """:data:`SCHEMA`, with the ``day`` string column when ``partitioned``."""
    return SCHEMA.append(pa.field(DAY, pa.string())) if partitioned else SCHEMA


def dataset_table(
    frame: pd.DataFrame,
    *,
    has_user_agent: bool,
    has_bytes: bool,
    partitioned: bool,
) -> pa.Table:
    """The parsed ``frame`` of one block as a table of :func:`schema`.

    ``has_user_agent`` and ``has_bytes`` say whether the block's format has the field (else the
    column is null: the parser writes ``""`` and 0 for them); ``client``, ``referer`` and
    ``host`` are null in the frame already when the format or the line has none.
    """
    count = len(frame)
    millis = pa.array(frame["time"], type=pa.timestamp("ms", tz="UTC"))
    columns: dict[str, pa.Array] = {
        "method": pa.array(frame["method"].astype(str), type=pa.string()),
        "path": pc.cast(pa.array(frame["path"]), pa.string()),
        "status": pa.array(frame["status"].to_numpy(), type=pa.int16()),
        # from_pandas: NaN (no latency) becomes null
        "latency_ms": pa.array(frame["latency_ms"].to_numpy(), type=pa.float64(), from_pandas=True),
        "bytes": pa.array(frame["bytes"].to_numpy(), type=pa.int64())
        if has_bytes
        else pa.nulls(count, pa.int64()),
        "time": pc.cast(millis, pa.timestamp("us", tz="UTC")),
    }
    if has_user_agent:
        columns["user_agent"] = _strings(frame["user_agent"])
    else:
        columns["user_agent"] = pa.nulls(count, pa.string())
    for name in _NULLABLE_STRINGS:
        columns[name] = (
            _strings(frame[name]) if name in frame.columns else pa.nulls(count, pa.string())
        )
    if partitioned:
        columns[DAY] = days(millis)
    return pa.table(columns, schema=schema(partitioned))


def days(times: pa.Array) -> pa.Array:
    """The UTC day (``YYYY-MM-DD``) of each time, :data:`NO_DAY` for a null one.

    Each distinct day is formatted once (a block holds a day or two), then taken per line.

    >>> days(pa.array([0, None, 86_400_000 * 365], type=pa.timestamp("ms", tz="UTC"))).to_pylist()
    ['1970-01-01', '__HIVE_DEFAULT_PARTITION__', '1971-01-01']
    """
    valid = np.asarray(times.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    millis = np.asarray(
        pc.cast(times, pa.int64()).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    day_numbers = np.where(valid, millis // _DAY_MS, np.iinfo(np.int64).min)
    codes, uniques = pd.factorize(day_numbers)
    names = [
        NO_DAY if day == np.iinfo(np.int64).min else str(np.datetime64(int(day), "D"))
        for day in uniques
    ]
    return pa.array(names, type=pa.string()).take(pa.array(codes))


def pandas_frame(table: pa.Table) -> pd.DataFrame:
    """A table as the pandas partition Dask writes: Arrow-backed columns, so the conversion back
    to Arrow in ``to_parquet`` copies nothing and keeps every null."""
    frame: pd.DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
    return frame


def empty_partition(partitioned: bool) -> pd.DataFrame:
    """The zero-row partition (Dask's ``meta``, and a block that failed)."""
    return pandas_frame(schema(partitioned).empty_table())
