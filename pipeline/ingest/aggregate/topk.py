"""Counts by name with a fixed number of names: mergeable, with a proven error bound per name.

Real logs have a long tail of paths and user agents that appear once or twice; keeping every one
of them in every partial makes memory grow with the input. A :class:`CappedCounts` keeps at most
``cap`` names, the ones with the largest counts, and remembers how much it may have missed. This
is the "mergeable summaries" form of the Misra-Gries / Space-Saving idea, kept deterministic:

* a partition counts its names exactly, keeps the ``cap`` largest (count descending, then name)
  and records ``dropped_max``, the largest count it dropped (0 when nothing was dropped);
* every kept name carries ``error``: the true count is between ``count`` and ``count + error``;
* merging adds the counts of a name; a name absent from one side gains that side's
  ``dropped_max`` as error (it may have been dropped there); then the result is capped again,
  and its ``dropped_max`` bounds every name it does not list (the sum of the sides' bounds, or the
  largest ``count + error`` it drops, whichever is larger).

So after any tree of merges, for every name: ``count <= true count <= count + error``, and a name
not listed has at most ``dropped_max`` occurrences. :func:`top_rows` uses this to *prove* that a
top-N list is exact (every listed count has error 0 and every name that could outrank the last
row provably does not); otherwise the rows are lower bounds and carry their ``count_error``.

Extra columns (``status_4xx`` ...) are added like ``count`` and share its error bound.

>>> a = capped_counts(pd.Series([5, 1, 1], index=["/a", "/b", "/c"]), cap=2)
>>> a.dropped_max, list(a.table.index)
(1, ['/a', '/b'])
>>> b = capped_counts(pd.Series([2], index=["/c"]), cap=2)
>>> merged = merge_capped([a, b], cap=2)
>>> merged.table.loc["/c", "count"], merged.table.loc["/c", "error"]
(np.int64(2), np.int64(1))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class CappedCounts:
    """At most ``cap`` names with their counts (see the module docstring for the guarantee).

    Attributes
    ----------
    table
        Indexed by name (``str``), columns ``count``, ``error`` and any extra count columns;
        ordered by count descending, then name.
    dropped_max
        No name missing from ``table`` occurs more than this many times.
    """

    table: pd.DataFrame
    dropped_max: int = 0

    @property
    def exact(self) -> bool:
        """True when nothing was ever dropped: every count is the true count."""
        return self.dropped_max == 0 and not bool(self.table["error"].any())


def empty_capped(extra: Sequence[str] = ()) -> CappedCounts:
    """No names at all."""
    columns: dict[str, Any] = {"count": np.zeros(0, np.int64), "error": np.zeros(0, np.int64)}
    columns.update({name: np.zeros(0, np.int64) for name in extra})
    return CappedCounts(pd.DataFrame(columns, index=pd.Index([], dtype=object, name="name")))


def capped_counts(counts: pd.Series, cap: int, extra: pd.DataFrame | None = None) -> CappedCounts:
    """Exact counts of one partition (a Series indexed by name), capped to ``cap`` names.

    ``extra``: more count columns aligned with ``counts`` (e.g. 4xx and 5xx per path).
    """
    kept, bound = top_positions(counts.to_numpy(dtype=np.int64), cap)
    return capped_at(counts, kept, bound, extra)


def capped_at(
    counts: pd.Series,
    kept: np.ndarray[Any, Any],
    bound: int,
    extra: pd.DataFrame | None = None,
) -> CappedCounts:
    """:func:`capped_counts` from its :func:`top_positions` (``kept``, ``bound``), for a caller
    that also needs to know which positions were kept."""
    values = counts.to_numpy(dtype=np.int64)
    # Python strings (object): numpy's fixed-width str dtype would drop trailing NUL characters;
    # only the kept names are converted (an Arrow-backed index holds the others as Arrow strings)
    names = np.asarray(counts.index[kept], dtype=object)
    table = pd.DataFrame(
        {"count": values[kept], "error": np.zeros(len(kept), np.int64)},
        index=pd.Index(names, dtype=object, name="name"),
    )
    if extra is not None:
        for column in extra.columns:
            table[column] = extra[column].to_numpy(dtype=np.int64)[kept]
    return CappedCounts(_ordered(table), bound)


def top_positions(counts: np.ndarray[Any, Any], cap: int) -> tuple[np.ndarray[Any, Any], int]:
    """Positions of the ``cap`` largest counts (ties: first positions first) and the largest
    count left out (0 when none is). Linear time: only the kept part is sorted.

    >>> top_positions(np.array([1, 5, 3, 5]), 2)
    (array([1, 3]), 3)
    """
    if len(counts) <= cap:
        return np.arange(len(counts)), 0
    threshold = np.partition(counts, len(counts) - cap)[len(counts) - cap]
    above = np.flatnonzero(counts > threshold)
    ties = np.flatnonzero(counts == threshold)[: cap - len(above)]
    kept = np.sort(np.concatenate([above, ties]))
    left = np.ones(len(counts), dtype=bool)
    left[kept] = False
    return kept, int(counts[left].max())


def merge_capped(parts: Sequence[CappedCounts], cap: int) -> CappedCounts:
    """Add up capped counts (any number at once), keeping the bound; see the module docstring.

    Vectorised: the names of all parts are numbered once (``pd.factorize``) and every column is
    added with a ``bincount`` (float64 sums, exact below 2**53).
    """
    if len(parts) == 1:
        return parts[0]
    columns = list(dict.fromkeys(name for part in parts for name in part.table.columns))
    names = np.concatenate([np.asarray(part.table.index, dtype=object) for part in parts])
    codes, distinct = pd.factorize(names, sort=False)

    def added(values: list[np.ndarray[Any, Any]]) -> np.ndarray[Any, Any]:
        summed = np.bincount(codes, weights=np.concatenate(values), minlength=len(distinct))
        return summed.astype(np.int64)

    def column(part: CappedCounts, name: str) -> np.ndarray[Any, Any]:
        if name in part.table.columns:
            return part.table[name].to_numpy(dtype=np.int64)
        return np.zeros(len(part.table), np.int64)

    table = pd.DataFrame(
        {name: added([column(part, name) for part in parts]) for name in columns},
        index=pd.Index(np.asarray(distinct, dtype=object), dtype=object, name="name"),
    )
    # a name gains the bound of every side where it is missing: all bounds minus its own sides'
    total_bound = sum(part.dropped_max for part in parts)
    present = added([np.full(len(part.table), part.dropped_max, np.int64) for part in parts])
    table["error"] += total_bound - present
    return _cap(table, cap, floor=total_bound)


def _cap(table: pd.DataFrame, cap: int, floor: int) -> CappedCounts:
    """Keep the ``cap`` largest counts, ordered; ``floor`` bounds the names never seen."""
    kept, _ = top_positions(table["count"].to_numpy(), cap)
    bound = floor
    if len(kept) < len(table):
        left = np.ones(len(table), dtype=bool)
        left[kept] = False
        bound = max(bound, int((table["count"] + table["error"]).to_numpy()[left].max()))
    return CappedCounts(_ordered(table.iloc[kept]), bound)


def _ordered(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by count descending, then name ascending in code-point order.

    Arrow sorts the names by their UTF-8 bytes, which is code-point order (numpy's fixed-width
    strings would drop trailing NUL characters). A name Arrow cannot hold (a lone surrogate,
    which has no UTF-8 form) sends the table to Python's own sort of ``str``, the same order."""
    if len(table) <= 1:
        return table
    counts = table["count"].to_numpy()
    try:
        names = pa.array(np.asarray(table.index, dtype=object), type=pa.large_string())
    except (pa.ArrowException, UnicodeError):
        keys = list(zip((-counts).tolist(), table.index.tolist(), strict=True))
        order: Any = sorted(range(len(keys)), key=keys.__getitem__)
    else:
        order = pc.sort_indices(
            pa.table({"count": counts, "name": names}),
            sort_keys=[("count", "descending"), ("name", "ascending")],
        ).to_numpy()
    ordered: pd.DataFrame = table.iloc[order]
    return ordered


def top_rows(counts: CappedCounts, top: int) -> tuple[pd.DataFrame, bool]:
    """The ``top`` largest names, and whether the list is provably exact.

    Exact means: each listed count has error 0, and no other name can have a larger count than
    the last row (nor an equal count with a smaller name): its upper bound (``count + error``
    for a name held, ``dropped_max`` for any other) is below the last listed count.
    """
    table = counts.table
    rows = table.iloc[:top]
    if not len(rows):
        return rows, counts.dropped_max == 0
    exact = not bool(rows["error"].any())
    if exact:
        last_count = int(rows["count"].iloc[-1])
        last_name = str(rows.index[-1])
        rest = table.iloc[top:]
        upper = rest["count"] + rest["error"]
        # a Python comparison: numpy would turn last_name into its str dtype (no trailing NUL)
        before = np.array([str(name) < last_name for name in rest.index], dtype=bool)
        ties = (upper.to_numpy() == last_count) & before
        if bool((upper > last_count).any()) or bool(ties.any()):
            exact = False
        if len(rows) == top and counts.dropped_max >= last_count:
            exact = False
        if len(rows) < top and counts.dropped_max > 0:
            exact = False
    return rows, exact


def report_entries(
    rows: pd.DataFrame, exact: bool, entry: Callable[[str, pd.Series], dict[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """One report entry per row of :func:`top_rows` (``entry(name, row)``), each with
    ``count_error`` after its own keys when the list is not proven exact."""
    entries = []
    for name, row in rows.iterrows():
        item = entry(str(name), row)
        if not exact:
            item["count_error"] = int(row["error"])
        entries.append(item)
    return tuple(entries)
