"""User-agent figures: browser, OS and device families (ua-parser), the coarse split, unique count.

A partition hands :func:`summarize_agents` its requests per distinct user-agent string. Each
distinct agent is classified by :mod:`pipeline.ingest.aggregate.agent_parse` (ua-parser through
its native accelerator, a per-process cache, and a parse budget that bounds the cost of logs whose
agents are mostly distinct). A parse result (browser, OS, device, family) is a number, so a
block's requests are added per result with one ``bincount`` and only the few results used become
names; nothing loops over requests.

The coarse split (``by_family``) classifies every request; first match wins:

1. ``unknown``: the empty agent (the log had none, or ``-``);
2. ``bot``: uap-core names the device ``Spider`` (crawlers, link-preview fetchers such as
   ``facebookexternalhit`` or ``WhatsApp/``, and ``Java/`` clients), or the agent contains
   ``bot``, ``crawler``, ``spider`` or ``slurp`` (case-insensitive: Python's ``str.lower``);
3. ``tool``: the agent starts with one of :data:`TOOL_PREFIXES` (case-insensitive);
4. ``browser``: the parser names a browser family (anything but ``Other``);
5. ``other``: the rest (``kube-probe/1.30``, in-house clients).

It is exact unless the parse budget left agents unparsed: then ``estimated`` counts their
requests, which are spread over the families in the proportions of the agents the partition
parsed for the first time and that are no more frequent than the most frequent unparsed agent
(the budget parses the most frequent new agents first, then a uniform sample by hash), or of all
it classified when there are none; so every family's count is within ``estimated`` of
the true count (the empty agent, ``unknown``, is never estimated). The counts still add up to the
requests.

``browsers``, ``os`` and ``devices`` count requests by the parser's family names (uap-core's
``Other`` when no rule matched), over requests that carry an agent: the empty agent is not
parsed and only counted as ``unknown``. Each keeps the :data:`NAMES_CAP` largest names with a
proven error bound (:mod:`pipeline.ingest.aggregate.topk`): device families are open-ended (one per
phone model). Requests whose agent was not parsed are in no list: every row's error and the bound
on unlisted names grow by their number, so the bound stays proven. ``unique`` counts distinct
agent strings, the empty one included, parsed or not: exact up to
:data:`~pipeline.ingest.aggregate.distinct.UNIQUE_EXACT_CAP`, then a HyperLogLog estimate
(:mod:`pipeline.ingest.aggregate.distinct`).

>>> part = summarize_agents(pd.Series([3, 1], index=["curl/8.5.0", ""]))
>>> report = agents_report(part, top=5)
>>> report.by_family["tool"], report.by_family["unknown"], report.browsers[0]
(3, 1, {'name': 'curl', 'count': 3})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.ingest.aggregate.agent_parse import (
    BOT_WORDS,
    TOOL_PREFIXES,
    classify,
    combination,
    parse_agent,
)
from pipeline.ingest.aggregate.distinct import (
    DistinctAgents,
    distinct_hashes,
    error_bound_text,
    merge_distinct,
    value_hash,
)
from pipeline.ingest.aggregate.topk import (
    CappedCounts,
    capped_counts,
    merge_capped,
    report_entries,
    top_rows,
)

__all__ = [
    "BOT_WORDS",
    "FAMILIES",
    "PARSED_LISTS",
    "TOOL_PREFIXES",
    "AgentPartial",
    "AgentReport",
    "DistinctAgents",
    "agents_report",
    "merge_agents",
    "parse_agent",
    "summarize_agents",
]

#: The coarse split, in report order.
FAMILIES: Final[tuple[str, ...]] = ("browser", "bot", "tool", "other", "unknown")

#: The lists of parsed family names: report key and title, in report order (for the renderers).
PARSED_LISTS: Final[tuple[tuple[str, str], ...]] = (
    ("browsers", "Browsers"),
    ("os", "Operating systems"),
    ("devices", "Devices"),
)

#: Names kept per list (browsers, OS, devices) in every partial, with an error bound for the
#: rest (see :mod:`pipeline.ingest.aggregate.topk`). Browsers and OS families number in the
#: hundreds, so their lists stay exact; device families run to thousands of phone models, whose tail
#: is cut. Larger: exact further down the tail, bigger partials (about 60 bytes a name).
#: Legal range: the longest top list asked for (``--top``, at most 1,000) .. 100,000.
NAMES_CAP: Final[int] = 1_000


@dataclass(frozen=True)
class AgentPartial:
    """User-agent figures of one partition, file or run; merge with :func:`merge_agents`.

    Attributes
    ----------
    by_family
        ``int64`` request counts indexed by family name (only the families seen), estimates
        included.
    browsers, os, devices
        Requests by ua-parser family name ("Chrome", "Windows", "Samsung SM-G991B", "Other").
    unique
        Distinct agent strings, exact up to a cap, then an HLL estimate.
    estimated
        Requests whose agent the parse budget left unparsed: their families in ``by_family`` are
        estimated, and they are in no list.
    """

    by_family: pd.Series
    browsers: CappedCounts
    os: CappedCounts
    devices: CappedCounts
    unique: DistinctAgents
    estimated: int = 0


@dataclass(frozen=True)
class AgentReport:
    """The ``user_agents`` figures of a report (the caller adds its own ``top`` list).

    ``browsers``, ``os`` and ``devices`` rows are ``{"name", "count"}``, ordered by count
    descending then name ascending; when the list's ``*_exact`` flag is False each row also has
    ``count_error`` (the true count is between ``count`` and ``count + count_error``), and
    ``list_bounds`` holds the list's bound sentence. ``estimated``: requests whose family in
    ``by_family`` is estimated (0: the split is exact).
    """

    unique: int
    unique_exact: bool
    unique_error: str | None
    browsers: tuple[Mapping[str, Any], ...]
    os: tuple[Mapping[str, Any], ...]
    devices: tuple[Mapping[str, Any], ...]
    browsers_exact: bool
    os_exact: bool
    devices_exact: bool
    by_family: Mapping[str, int]
    list_bounds: Mapping[str, str] = field(default_factory=dict)
    estimated: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``user_agents`` object, without ``top``."""
        return {
            "unique": self.unique,
            "browsers": [dict(row) for row in self.browsers],
            "os": [dict(row) for row in self.os],
            "devices": [dict(row) for row in self.devices],
            "by_family": dict(self.by_family),
            "estimated": self.estimated,
        }

    def exact_flags(self) -> dict[str, bool]:
        """One entry per statistic for the report's top-level ``exact`` object."""
        return {
            "user_agents.unique": self.unique_exact,
            "user_agents.browsers": self.browsers_exact,
            "user_agents.os": self.os_exact,
            "user_agents.devices": self.devices_exact,
            "user_agents.by_family": self.estimated == 0,
        }

    def error_bounds(self) -> dict[str, str]:
        """The stated bound of every entry :meth:`exact_flags` marks False."""
        bounds = {}
        if not self.unique_exact and self.unique_error is not None:
            bounds["user_agents.unique"] = self.unique_error
        bounds.update({f"user_agents.{key}": text for key, text in self.list_bounds.items()})
        if self.estimated:
            bounds["user_agents.by_family"] = (
                f"the agents of {self.estimated:,} of {sum(self.by_family.values()):,} requests "
                "were not parsed (parse budget): their families are estimated from the agents "
                f"parsed in the same blocks, so each count is within {self.estimated:,} of the "
                "true count (unknown is exact)"
            )
        return bounds

    def budget_note(self) -> str | None:
        """The report's note when the parse budget was reached (None when it was not)."""
        if not self.estimated:
            return None
        return (
            f"user-agent parse budget reached: the agents of {self.estimated:,} requests were not "
            "parsed; by_family estimates their families (each count within "
            f"{self.estimated:,}), browsers, os and devices leave them out (lower bounds)"
        )


def summarize_agents(counts: pd.Series) -> AgentPartial:
    """User-agent figures of one partition.

    ``counts``: ``int64`` requests per distinct user-agent string (index: the agent text, ``""``
    for no agent; an Arrow-backed string index is used in place; text ua-parser-rs can read,
    that is with a UTF-8 form, as every agent read from a log has). Each distinct agent is
    classified once (:func:`~pipeline.ingest.aggregate.agent_parse.classify`: cached per process,
    parses budgeted), never once per request; a repeated index entry is harmless (counts add up,
    distinct agents are counted once). The requests are added per parse result (a ``bincount``
    over result numbers), then per name over the few results used.
    """
    requests = counts.to_numpy(dtype=np.int64)
    agents = _arrow_strings(counts.index)
    present = pc.not_equal(agents, "").to_numpy(zero_copy_only=False)
    has_empty = not present.all()
    with_text = requests[present]
    pairs, parsed = classify(agents.filter(present) if has_empty else agents, with_text)
    hashes = pairs[:, 1].view(np.uint64)
    if has_empty:
        hashes = np.append(hashes, np.uint64(value_hash("")))
    numbers = pairs[:, 0]
    known = numbers >= 0
    estimated = int(with_text[~known].sum())
    # float64 sums are exact below 2**53 requests
    totals = np.bincount(numbers[known], weights=with_text[known])
    used = np.flatnonzero(totals)
    names = np.empty((len(used), 4), dtype=object)
    if len(used):
        names[:] = [combination(number) for number in used.tolist()]
    with_agent = totals[used].astype(np.int64)
    by_family = _summed(names[:, 3], with_agent)
    if estimated:
        # the sample: newly parsed agents no more frequent than the most frequent unparsed one
        # (the budget parses the most frequent first: among the rest it is uniform by hash)
        tail = parsed & (with_text <= with_text[~known].max())
        sample = np.bincount(numbers[tail], weights=with_text[tail], minlength=len(totals))
        by_family = _with_estimate(by_family, _summed(names[:, 3], sample[used]), estimated)
    if has_empty:
        by_family = pd.concat([by_family, pd.Series([requests[~present].sum()], ["unknown"])])
    return AgentPartial(
        by_family=by_family.astype(np.int64),
        browsers=_widened(capped_counts(_summed(names[:, 0], with_agent), NAMES_CAP), estimated),
        os=_widened(capped_counts(_summed(names[:, 1], with_agent), NAMES_CAP), estimated),
        devices=_widened(capped_counts(_summed(names[:, 2], with_agent), NAMES_CAP), estimated),
        unique=distinct_hashes(hashes),
        estimated=estimated,
    )


def _with_estimate(classified: pd.Series, sample: pd.Series, estimated: int) -> pd.Series:
    """``classified`` plus ``estimated`` requests spread in the proportions of ``sample`` (the
    requests per family of the newly parsed agents as rare as the unparsed ones), or of
    ``classified`` when the sample is empty, or all as ``other`` when nothing was classified;
    whole requests by largest remainder (ties in :data:`FAMILIES` order), so the estimates add
    up to ``estimated``."""
    weights = sample if sample.sum() > 0 else classified
    shares = weights.reindex(FAMILIES[:-1], fill_value=0).to_numpy(dtype=np.float64)
    if shares.sum() <= 0:
        shares = np.array([float(family == "other") for family in FAMILIES[:-1]])
    exact = shares / shares.sum() * estimated
    whole = np.floor(exact).astype(np.int64)
    left = estimated - int(whole.sum())
    order = np.argsort(-(exact - whole), kind="stable")
    whole[order[:left]] += 1
    spread = pd.Series(whole, index=pd.Index(FAMILIES[:-1], dtype=object))
    added: pd.Series = classified.reindex(spread.index, fill_value=0) + spread
    kept: pd.Series = added[added > 0]
    return kept


def _widened(counts: CappedCounts, unparsed: int) -> CappedCounts:
    """``counts`` with ``unparsed`` requests of unknown name: each could be any name, so every
    row's error and the bound on names not listed grow by their number (see
    :mod:`pipeline.ingest.aggregate.topk`)."""
    if not unparsed:
        return counts
    table = counts.table.copy()
    table["error"] = table["error"] + unparsed
    return replace(counts, table=table, dropped_max=counts.dropped_max + unparsed)


def _arrow_strings(index: pd.Index) -> pa.Array:
    """The index as an Arrow string array, in place when it is Arrow-backed."""
    values = index.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        array = pa.array(values, type=pa.large_string())
    else:
        array = pa.array(index.tolist(), type=pa.large_string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _summed(names: npt.NDArray[np.object_], requests: npt.NDArray[np.int64]) -> pd.Series:
    """``int64`` requests per distinct name (index: the names, in order of first appearance)."""
    codes, distinct = pd.factorize(names, sort=False)
    totals = np.bincount(codes, weights=requests, minlength=len(distinct))
    return pd.Series(totals.astype(np.int64), index=pd.Index(distinct, dtype=object))


def merge_agents(parts: Sequence[AgentPartial]) -> AgentPartial:
    """Add up partials (any number at once; associative, so any merge tree gives the same)."""
    if not parts:
        return summarize_agents(pd.Series([], dtype=np.int64, index=pd.Index([], dtype=object)))
    if len(parts) == 1:
        return parts[0]
    by_family = pd.concat([part.by_family for part in parts]).groupby(level=0).sum()
    return AgentPartial(
        by_family=by_family.astype(np.int64),
        browsers=merge_capped([part.browsers for part in parts], NAMES_CAP),
        os=merge_capped([part.os for part in parts], NAMES_CAP),
        devices=merge_capped([part.devices for part in parts], NAMES_CAP),
        unique=merge_distinct([part.unique for part in parts]),
        estimated=sum(part.estimated for part in parts),
    )


def agents_report(part: AgentPartial, top: int) -> AgentReport:
    """The report's figures from a run's merged partial; ``top``: length of each list (>= 1)."""
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top must be an integer >= 1, got {top!r}")
    browsers, browsers_exact = _rows(part.browsers, top)
    os_rows, os_exact = _rows(part.os, top)
    devices, devices_exact = _rows(part.devices, top)
    lists = (
        ("browsers", "browser family", part.browsers, browsers_exact),
        ("os", "OS family", part.os, os_exact),
        ("devices", "device family", part.devices, devices_exact),
    )
    return AgentReport(
        unique=part.unique.count,
        unique_exact=part.unique.exact,
        unique_error=None if part.unique.exact else error_bound_text(),
        browsers=browsers,
        os=os_rows,
        devices=devices,
        browsers_exact=browsers_exact,
        os_exact=os_exact,
        devices_exact=devices_exact,
        by_family={family: int(part.by_family.get(family, 0)) for family in FAMILIES},
        list_bounds={
            key: _bound_text(what, counts.dropped_max)
            for key, what, counts, exact in lists
            if not exact
        },
        estimated=part.estimated,
    )


def _bound_text(what: str, dropped_max: int) -> str:
    """The bound of a list that is not proven exact."""
    return (
        "counts are lower bounds: each row's true count is at most count + count_error, and "
        f"any {what} not listed has at most {dropped_max:,} requests"
    )


def _rows(counts: CappedCounts, top: int) -> tuple[tuple[dict[str, Any], ...], bool]:
    """The ``top`` rows as ``{"name", "count"}`` (+ ``count_error`` when not exact)."""
    rows, exact = top_rows(counts, top)
    entries = report_entries(
        rows, exact, lambda name, row: {"name": name, "count": int(row["count"])}
    )
    return entries, exact
