"""Pandas tables as flat numeric arrays in an ``.npz`` archive that never needs pickle.

The state codec (:mod:`pipeline.ingest.state.codec`) stores every table of a partial (Series
with an index or MultiIndex, DataFrames, plain arrays) as 1-D numeric numpy arrays, plus a JSON
description (dtype, names, index kind) that the caller keeps in its manifest. Strings, which
numpy could only hold as objects (pickle) or as fixed-width ``str`` (which drops trailing NUL
characters), are stored as their UTF-8 bytes in one ``uint8`` array and ``int64`` offsets; the
``surrogatepass`` error handler keeps the lone surrogates a log's undecodable bytes can leave in
a name, so every Python ``str`` comes back equal.

The archive is a standard ``.npz`` (``numpy.load(..., allow_pickle=False)`` reads it), written
with a fixed timestamp so that equal tables give equal bytes. It is read member by member here,
not by ``numpy.load``: each member must be stored uncompressed, be a 1-D array of a numeric
dtype in :data:`DTYPES`, and hold exactly the bytes its header announces, so a crafted archive
can neither unpickle (object arrays are refused before any data is read) nor make the reader
allocate more than the archive's own size. Every problem raises ``ValueError``/``KeyError``/
``TypeError``; the codec turns them into :class:`~pipeline.errors.StateError`.

>>> writer = Writer()
>>> spec = writer.series("s", pd.Series([3, 4], index=pd.Index(["a", "b\\x00"], dtype=object)))
>>> reader = Reader(read_npz(write_npz(writer.arrays)))
>>> reader.series("s", spec).to_dict()
{'a': 3, 'b\\x00': 4}
"""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

#: The dtypes an archive member may have (numpy ``dtype.str``, little-endian): no objects, no
#: strings, no structured types.
DTYPES: Final[frozenset[str]] = frozenset(
    {"|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f4", "<f8"}
)

#: The fixed timestamp of every archive member (the earliest a zip file can say).
_EPOCH: Final = (1980, 1, 1, 0, 0, 0)

Spec = dict[str, Any]


def write_npz(arrays: Mapping[str, npt.NDArray[Any]]) -> bytes:
    """An uncompressed ``.npz`` of ``arrays`` (member ``NAME.npy`` per array), deterministic."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", _EPOCH), member.getvalue())
    return out.getvalue()


def read_npz(data: bytes) -> dict[str, npt.NDArray[Any]]:
    """The arrays of a :func:`write_npz` archive, each checked before its data is read."""
    arrays: dict[str, npt.NDArray[Any]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size > len(data):
                raise ValueError(f"archive member {info.filename!r} is not stored plainly")
            if not info.filename.endswith(".npy") or info.filename[:-4] in arrays:
                raise ValueError(f"unexpected archive member {info.filename!r}")
            arrays[info.filename[:-4]] = _array(archive.read(info))
    return arrays


def _array(member: bytes) -> npt.NDArray[Any]:
    """One ``.npy`` member: 1-D, C order, a dtype in :data:`DTYPES`, exactly its data."""
    stream = io.BytesIO(member)
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.str not in DTYPES or len(shape) != 1 or fortran:
        raise ValueError(f"refused array member: dtype {dtype.str}, shape {shape}")
    body = member[stream.tell() :]
    if shape[0] * dtype.itemsize != len(body):
        raise ValueError("array member size does not match its header")
    array: npt.NDArray[Any] = np.frombuffer(body, dtype=dtype).copy()
    return array


def _string_dtype(spec: Spec) -> pd.StringDtype:
    storage, na = spec["storage"], spec["na"]
    if storage not in ("python", "pyarrow") or na not in ("nan", "NA"):
        raise ValueError(f"unknown string dtype {storage!r}/{na!r}")
    return pd.StringDtype(storage=storage, na_value=np.nan if na == "nan" else pd.NA)


class Writer:
    """Collects arrays (:attr:`arrays`) and returns the JSON spec each table is read back with.

    ``name`` arguments prefix the arrays' member names; each must be unique per writer.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[Any]] = {}

    def column(self, name: str, values: Any) -> Spec:
        """A 1-D column: numeric numpy, ``object`` of ``str``, or a pandas string array."""
        dtype = getattr(values, "dtype", None)
        if isinstance(dtype, pd.StringDtype):
            na = "nan" if dtype.na_value is np.nan else "NA"
            self._strings(name, list(values))
            return {"dtype": "str", "storage": dtype.storage, "na": na}
        array = np.asarray(values)
        if array.dtype == object:
            self._strings(name, array.tolist())
            return {"dtype": "object"}
        if array.dtype.str not in DTYPES or array.ndim != 1:
            raise TypeError(f"cannot store column {name!r} of dtype {array.dtype}")
        self.arrays[name] = array
        return {"dtype": array.dtype.str}

    def _strings(self, name: str, items: list[Any]) -> None:
        if not all(type(item) is str for item in items):
            raise TypeError(f"column {name!r} holds something other than str")
        encoded = [item.encode("utf-8", "surrogatepass") for item in items]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(item) for item in encoded], out=offsets[1:])
        self.arrays[f"{name}.utf8"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        self.arrays[f"{name}.offsets"] = offsets

    def index(self, name: str, index: pd.Index) -> Spec:
        """An Index (kept as a range when it is one) or a MultiIndex, with its names."""
        if isinstance(index, pd.MultiIndex):
            levels = [
                self.column(f"{name}.{k}", index.get_level_values(k).array)
                for k in range(index.nlevels)
            ]
            return {"kind": "multi", "names": list(index.names), "levels": levels}
        if isinstance(index, pd.RangeIndex):
            bounds = [index.start, index.stop, index.step]
            return {"kind": "range", "name": index.name, "range": bounds}
        return {"kind": "plain", "name": index.name, "column": self.column(name, index.array)}

    def series(self, name: str, series: pd.Series) -> Spec:
        """A Series: its name, index and values."""
        index = self.index(f"{name}.index", series.index)
        return {"name": series.name, "index": index, "values": self.column(name, series.array)}

    def frame(self, name: str, frame: pd.DataFrame) -> Spec:
        """A DataFrame: its index and its columns in order."""
        columns = [
            [column, self.column(f"{name}.{number}", frame[column].array)]
            for number, column in enumerate(frame.columns)
        ]
        return {"index": self.index(f"{name}.index", frame.index), "columns": columns}


class Reader:
    """Reads back what a :class:`Writer` stored, from the arrays and the specs it returned."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
        self.arrays = arrays

    def array(self, name: str, dtype: str) -> npt.NDArray[Any]:
        """A stored array, which must have ``dtype`` (numpy ``dtype.str``)."""
        array = self.arrays[name]
        if array.dtype.str != dtype:
            raise ValueError(f"array {name!r} has dtype {array.dtype.str}, not {dtype}")
        return array

    def column(self, name: str, spec: Spec) -> Any:
        """A column as :meth:`Writer.column` was given it (numpy array or pandas array)."""
        dtype = spec["dtype"]
        if dtype == "object":
            return np.array(self._strings(name), dtype=object)
        if dtype == "str":
            return pd.array(self._strings(name), dtype=_string_dtype(spec))
        if dtype not in DTYPES:
            raise ValueError(f"column {name!r}: refused dtype {dtype!r}")
        return self.array(name, dtype)

    def _strings(self, name: str) -> list[str]:
        data = self.array(f"{name}.utf8", "|u1").tobytes()
        offsets = self.array(f"{name}.offsets", "<i8")
        if not len(offsets) or offsets[0] != 0 or offsets[-1] != len(data):
            raise ValueError(f"string column {name!r}: offsets do not cover its bytes")
        if bool((np.diff(offsets) < 0).any()):
            raise ValueError(f"string column {name!r}: offsets go backwards")
        bounds = offsets.tolist()
        return [
            data[start:end].decode("utf-8", "surrogatepass")
            for start, end in itertools.pairwise(bounds)
        ]

    def index(self, name: str, spec: Spec) -> pd.Index:
        """An index stored by :meth:`Writer.index`."""
        kind = spec["kind"]
        if kind == "multi":
            names, levels = spec["names"], spec["levels"]
            if len(names) != len(levels) or len(levels) < 2:
                raise ValueError(f"index {name!r}: bad levels")
            arrays = [self._plain(f"{name}.{k}", level) for k, level in enumerate(levels)]
            multi: pd.Index = pd.MultiIndex.from_arrays(arrays, names=[_name(x) for x in names])
            return multi
        if kind == "range":
            start, stop, step = spec["range"]
            if not all(type(bound) is int for bound in (start, stop, step)):
                raise TypeError(f"index {name!r}: range bounds must be integers")
            span: pd.Index = pd.RangeIndex(start, stop, step, name=_name(spec["name"]))
            return span
        if kind == "plain":
            return self._plain(name, spec["column"], _name(spec["name"]))
        raise ValueError(f"index {name!r}: unknown kind {kind!r}")

    def _plain(self, name: str, spec: Spec, label: str | None = None) -> pd.Index:
        """A one-level index of exactly the stored dtype (pandas would infer ``str`` from an
        object array of strings)."""
        values = self.column(name, spec)
        index: pd.Index = pd.Index(values, dtype=values.dtype, name=label)
        return index

    def series(self, name: str, spec: Spec) -> pd.Series:
        """A Series stored by :meth:`Writer.series`."""
        index = self.index(f"{name}.index", spec["index"])
        values = self.column(name, spec["values"])
        if len(values) != len(index):
            raise ValueError(f"series {name!r}: {len(values)} values, {len(index)} labels")
        label = _name(spec["name"])
        series: pd.Series = pd.Series(values, index=index, dtype=values.dtype, name=label)
        return series

    def frame(self, name: str, spec: Spec) -> pd.DataFrame:
        """A DataFrame stored by :meth:`Writer.frame`."""
        index = self.index(f"{name}.index", spec["index"])
        columns: dict[str, Any] = {}
        for number, (column, column_spec) in enumerate(spec["columns"]):
            if type(column) is not str or column in columns:
                raise ValueError(f"frame {name!r}: bad column name")
            values = self.column(f"{name}.{number}", column_spec)
            if len(values) != len(index):
                raise ValueError(f"frame {name!r}: column {column!r} has the wrong length")
            columns[column] = pd.Series(values, index=index, dtype=values.dtype, copy=False)
        frame: pd.DataFrame = pd.DataFrame(columns, index=index)
        return frame


def _name(value: Any) -> str | None:
    """A stored index, series or column name: a string or None."""
    if value is not None and type(value) is not str:
        raise TypeError("names must be strings or null")
    return value
