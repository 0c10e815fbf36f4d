"""User-agent figures: browser, OS and device families (ua-parser), the coarse split, unique count.

A partition hands :func:`summarize_agents` its requests per distinct user-agent string. Each
distinct agent is parsed once per process by ``ua-parser`` (the maintained Python port of the
uap-core rules) through its native accelerator, ``ua-parser-rs`` (the ``ua-parser[regex]``
extra), and the result is kept in a per-process LRU cache of :data:`PARSE_CACHE_SIZE` agents, so a
worker that sees the same agent in many blocks parses it once. The cache holds a number per
distinct parse result (browser, OS, device, family), so a block's requests are added per result
with one ``bincount`` and only the few results used become names; nothing loops over requests.
The agents the block before had (about half of them) are found in that block's results by one
Arrow hash join, without a cache lookup each.

The coarse split (``by_family``) classifies every request, exactly; first match wins:

1. ``unknown``: the empty agent (the log had none, or ``-``);
2. ``bot``: uap-core names the device ``Spider`` (crawlers, link-preview fetchers such as
   ``facebookexternalhit`` or ``WhatsApp/``, and ``Java/`` clients), or the agent contains
   ``bot``, ``crawler``, ``spider`` or ``slurp`` (case-insensitive: Python's ``str.lower``);
3. ``tool``: the agent starts with one of :data:`TOOL_PREFIXES` (case-insensitive);
4. ``browser``: the parser names a browser family (anything but ``Other``);
5. ``other``: the rest (``kube-probe/1.30``, in-house clients).

``browsers``, ``os`` and ``devices`` count requests by the parser's family names (uap-core's
``Other`` when no rule matched), over requests that carry an agent: the empty agent is not
parsed and only counted as ``unknown``. Each keeps the :data:`NAMES_CAP` largest names with a
proven error bound (:mod:`pipeline.ingest.aggregate.topk`): device families are open-ended (one per
phone model). ``unique`` counts distinct agent strings, the empty one included: exact up to
:data:`~pipeline.ingest.aggregate.distinct.UNIQUE_EXACT_CAP`, then a HyperLogLog estimate
(:mod:`pipeline.ingest.aggregate.distinct`).

>>> part = summarize_agents(pd.Series([3, 1], index=["curl/8.5.0", ""]))
>>> report = agents_report(part, top=5)
>>> report.by_family["tool"], report.by_family["unknown"], report.browsers[0]
(3, 1, {'name': 'curl', 'count': 3})
"""

from __future__ import annotations

import functools
import itertools
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import ua_parser

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
    "FAMILIES",
    "PARSED_LISTS",
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

#: Distinct agents whose parse each process remembers (LRU). About 330 bytes an entry with the agent
#: text (measured: 168 bytes of cache entry and numbers, plus the text of about 120 characters), so
#: 83 MB per process when full. A worker parses each agent once while it sees at most this many
#: distinct ones; beyond, the least recently seen are parsed again when they come back (popular
#: agents, seen in every block, stay). On the 5 GB realistic scale log (269,000 distinct agents),
#: each of two process workers parses 263,000 agents with 100,000 entries, 209,000 with 150,000 and
#: 199,000 (every agent it sees, once) from 200,000. The threads of a threading run share one cache
#: and take blocks from the whole file, so agents come back after twice as many others: with 150,000
#: entries that run spent 8.4 s holding the GIL in parses (py-spy; about 350,000 at 24 us each), and
#: took 73-78 s against 63-73 s with 250,000. Smaller: less memory, more parses (about 24 us each).
#: Legal range: 0 (no cache) .. 10,000,000.
PARSE_CACHE_SIZE: Final[int] = 250_000

#: Agents that contain one of these (case-insensitive) are bots, whatever the parser says.
BOT_WORDS: Final[tuple[str, ...]] = ("bot", "crawler", "spider", "slurp")
#: Agents that start with one of these (case-insensitive) are tools, unless they are bots.
TOOL_PREFIXES: Final[tuple[str, ...]] = (
    "curl/",
    "wget/",
    "python-requests/",
    "python-urllib",
    "go-http-client/",
    "postmanruntime/",
    "httpie/",
    "okhttp/",
    "axios/",
    "node-fetch",
    "java/",
)
_BOT_RE: Final = re.compile("|".join(re.escape(word) for word in BOT_WORDS))
#: uap-core's device family for crawlers, and its name for "no rule matched".
_SPIDER: Final[str] = "Spider"
_OTHER: Final[str] = "Other"


@dataclass(frozen=True)
class AgentPartial:
    """User-agent figures of one partition, file or run; merge with :func:`merge_agents`.

    Attributes
    ----------
    by_family
        ``int64`` request counts indexed by family name (only the families seen).
    browsers, os, devices
        Requests by ua-parser family name ("Chrome", "Windows", "Samsung SM-G991B", "Other").
    unique
        Distinct agent strings, exact up to a cap, then an HLL estimate.
    """

    by_family: pd.Series
    browsers: CappedCounts
    os: CappedCounts
    devices: CappedCounts
    unique: DistinctAgents


@dataclass(frozen=True)
class AgentReport:
    """The ``user_agents`` figures of a report (the caller adds its own ``top`` list).

    ``browsers``, ``os`` and ``devices`` rows are ``{"name", "count"}``, ordered by count
    descending then name ascending; when the list's ``*_exact`` flag is False each row also has
    ``count_error`` (the true count is between ``count`` and ``count + count_error``), and
    ``list_bounds`` holds the list's bound sentence.
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

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``user_agents`` object, without ``top``."""
        return {
            "unique": self.unique,
            "browsers": [dict(row) for row in self.browsers],
            "os": [dict(row) for row in self.os],
            "devices": [dict(row) for row in self.devices],
            "by_family": dict(self.by_family),
        }

    def exact_flags(self) -> dict[str, bool]:
        """One entry per statistic for the report's top-level ``exact`` object."""
        return {
            "user_agents.unique": self.unique_exact,
            "user_agents.browsers": self.browsers_exact,
            "user_agents.os": self.os_exact,
            "user_agents.devices": self.devices_exact,
            "user_agents.by_family": True,
        }

    def error_bounds(self) -> dict[str, str]:
        """The stated bound of every entry :meth:`exact_flags` marks False."""
        bounds = {}
        if not self.unique_exact and self.unique_error is not None:
            bounds["user_agents.unique"] = self.unique_error
        bounds.update({f"user_agents.{key}": text for key, text in self.list_bounds.items()})
        return bounds


#: ua-parser-rs's resolver class, None when the accelerator is not installed.
_RUST: Final[Any] = ua_parser.RegexResolver


@functools.cache
def _resolver() -> ua_parser.Resolver:
    """The process's parser, built on first use (0.25 s): ua-parser-rs when installed."""
    if ua_parser.RegexResolver is not None:
        return ua_parser.RegexResolver(ua_parser.load_lazy_builtins())
    return ua_parser.BasicResolver(ua_parser.load_builtins())  # pure Python: correct, slower


@functools.cache
def _extractors() -> tuple[Callable[[str], Any], Callable[[str], Any], Callable[[str], Any]] | None:
    """ua-parser-rs's browser, OS and device extractors (None without the accelerator): called
    directly, they give the resolver's family names without building its result objects (about
    40% of the time per agent)."""
    resolver = _resolver()
    if _RUST is None or not isinstance(resolver, _RUST):
        return None
    return resolver.ua.extract, resolver.os.extract, resolver.de.extract


def parse_agent(agent: str) -> tuple[str, str, str, str]:
    """``(browser, os, device, family)`` of one non-empty agent: ua-parser's family names
    (uap-core's ``Other`` when unknown) and the coarse family (bot, tool, browser, other).

    >>> parse_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    ('Googlebot', 'Other', 'Spider', 'bot')
    """
    return _COMBINATIONS[_parsed(agent)[0]]


#: The distinct parse results ``(browser, os, device, family)`` this process has seen, in order
#: of first appearance: :func:`_parsed` stands for a result by its number here, so a block's
#: agents are counted per number with one ``bincount`` and only the few numbers used are turned
#: into names. Grows with the distinct results (hundreds; one per phone model at most), not with
#: the agents.
_COMBINATIONS: list[tuple[str, str, str, str]] = []
_COMBINATION_NUMBER: dict[tuple[str, str, str, str], int] = {}
_COMBINATIONS_LOCK: Final = threading.Lock()


@functools.lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parsed(agent: str) -> tuple[int, int]:
    """The number of the agent's :func:`parse_agent` result in ``_COMBINATIONS`` and its
    :func:`~pipeline.ingest.aggregate.distinct.value_hash` (as a signed 64-bit int, the same bits),
    cached per process (LRU, :data:`PARSE_CACHE_SIZE` agents)."""
    extract = _extractors()
    if extract is not None:
        found = extract[0](agent), extract[1](agent), extract[2](agent)
        browser = found[0].family if found[0] else _OTHER
        os_name = found[1].family if found[1] else _OTHER
        device = found[2].family if found[2] else _OTHER
    else:
        result = _resolver()(agent, ua_parser.Domain.ALL)
        browser = result.user_agent.family if result.user_agent else _OTHER
        os_name = result.os.family if result.os else _OTHER
        device = result.device.family if result.device else _OTHER
    combination = (browser, os_name, device, _family(agent, browser, device))
    number = _COMBINATION_NUMBER.get(combination)
    if number is None:
        with _COMBINATIONS_LOCK:  # threads may find the same new result at once
            number = _COMBINATION_NUMBER.setdefault(combination, len(_COMBINATIONS))
            if number == len(_COMBINATIONS):
                _COMBINATIONS.append(combination)
    hashed = value_hash(agent)
    return number, hashed - (1 << 64) if hashed >= 1 << 63 else hashed


def _family(agent: str, browser: str, device: str) -> str:
    """The coarse family of a non-empty agent (rules 2-5 of the module docstring)."""
    if device == _SPIDER:
        return "bot"
    lower = agent.lower()
    if _BOT_RE.search(lower):
        return "bot"
    if lower.startswith(TOOL_PREFIXES):
        return "tool"
    return "browser" if browser != _OTHER else "other"


def summarize_agents(counts: pd.Series) -> AgentPartial:
    """User-agent figures of one partition.

    ``counts``: ``int64`` requests per distinct user-agent string (index: the agent text, ``""``
    for no agent; an Arrow-backed string index is used in place; text ua-parser-rs can read,
    that is with a UTF-8 form, as every agent read from a log has). Each distinct agent is parsed
    once (per-process cache), never once per request; a repeated index entry is harmless (counts
    add up, distinct agents are counted once). The requests are added per parse result (a
    ``bincount`` over result numbers), then per name over the few results used.
    """
    requests = counts.to_numpy(dtype=np.int64)
    agents = _arrow_strings(counts.index)
    present = pc.not_equal(agents, "").to_numpy(zero_copy_only=False)
    has_empty = not present.all()
    pairs = _cached_pairs(agents.filter(present) if has_empty else agents)
    hashes = pairs[:, 1].view(np.uint64)
    if has_empty:
        hashes = np.append(hashes, np.uint64(value_hash("")))
    numbers = pairs[:, 0]
    used = np.flatnonzero(np.bincount(numbers))
    names = np.empty((len(used), 4), dtype=object)
    if len(used):
        names[:] = [_COMBINATIONS[number] for number in used.tolist()]
    # float64 sums are exact below 2**53 requests
    with_agent = np.bincount(numbers, weights=requests[present])[used].astype(np.int64)
    families, family_requests = names[:, 3], with_agent
    if has_empty:
        families = np.append(families, "unknown")
        family_requests = np.append(with_agent, requests[~present].sum())
    return AgentPartial(
        by_family=_summed(families, family_requests),
        browsers=capped_counts(_summed(names[:, 0], with_agent), NAMES_CAP),
        os=capped_counts(_summed(names[:, 1], with_agent), NAMES_CAP),
        devices=capped_counts(_summed(names[:, 2], with_agent), NAMES_CAP),
        unique=distinct_hashes(hashes),
    )


def _arrow_strings(index: pd.Index) -> pa.Array:
    """The index as an Arrow string array, in place when it is Arrow-backed."""
    values = index.array
    if isinstance(values, pd.arrays.ArrowStringArray):
        array = pa.array(values, type=pa.large_string())
    else:
        array = pa.array(index.tolist(), type=pa.large_string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


#: The non-empty distinct agents of the last partition this process summarized, and their
#: :func:`_parsed` values (``(n, 2)`` int64). About half of a block's distinct agents were in the
#: block before (49% on the realistic shape), and one Arrow hash join (``index_in``, which does
#: not hold the GIL) finds them there, where the cache costs a Python call each (about 1.6 us in
#: a full run: 6.8 s of a realistic 5 GB threading run held the GIL in those lookups). Threads
#: share it: each reads the pair once and replaces it whole.
_last_partition: tuple[pa.Array, npt.NDArray[np.int64]] | None = None


def _cached_pairs(agents: pa.Array) -> npt.NDArray[np.int64]:
    """``(n, 2)``: each non-empty agent's :func:`_parsed` value (result number, hash), those of the
    last partition from its values, the others through the cache."""
    global _last_partition
    pairs = np.empty((len(agents), 2), dtype=np.int64)
    missing = np.arange(len(agents))
    last = _last_partition
    if last is not None and len(agents):
        where = pc.index_in(agents, value_set=last[0]).fill_null(-1).to_numpy()
        found = where >= 0
        pairs[found] = last[1][where[found]]
        missing = missing[~found]
    if len(missing):
        texts = agents.take(missing).to_pylist()
        pairs[missing] = np.fromiter(
            itertools.chain.from_iterable(map(_parsed, texts)), np.int64, 2 * len(texts)
        ).reshape(-1, 2)
    _last_partition = (agents, pairs)
    return pairs


def forget_parses() -> None:
    """Empty this process's parse cache and last-partition results (tests and benchmarks: every
    agent is parsed again)."""
    global _last_partition
    _parsed.cache_clear()
    _last_partition = None


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
