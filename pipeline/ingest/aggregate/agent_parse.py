"""User-agent parsing with a per-process cache and a parse budget: the cost of an agent is bounded.

Each distinct agent of a partition is parsed by ``ua-parser`` (the maintained Python port of the
uap-core rules) through its native accelerator, ``ua-parser-rs`` (the ``ua-parser[regex]`` extra),
at about 25 us an agent, holding the GIL. Ordinary traffic repeats a few thousand agents, so each
process remembers its parses (:data:`PARSE_CACHE_SIZE` agents) and a worker parses an agent once.
A log in which most requests carry a distinct agent (scrapers that randomise theirs) defeats the
cache: every request costs a parse, ten times the cost of the rest of a request. So parses are
**budgeted**, as a token bucket per process:

* a process starts with :data:`PARSE_BURST` parses of credit and gains
  :data:`PARSES_PER_REQUEST` per request it summarizes, never holding more than
  :data:`PARSE_BURST`; a partition parses at most the credit it finds (so never more than
  :data:`PARSE_BURST`), and over a run at most ``PARSE_BURST + PARSES_PER_REQUEST * requests``;
* agents found in the cache, or in the partition the process summarized last, cost nothing;
* when a partition has more new agents than credit, it parses those with the most requests first
  (ties: the smallest :func:`~pipeline.ingest.aggregate.distinct.value_hash`, so among equally
  frequent agents the parsed ones are a uniform sample, the same in every process); the others
  are *not classified*, and the caller estimates their families and says so.

Ordinary traffic does not reach the budget: the realistic shape meets 54,000 distinct agents in
its first million requests, and a run of them is exact in every mode (a sync run keeps at least
22,000 parses of credit throughout). Whether a borderline log reaches it can depend on what a
worker parsed before (its cache), hence on the mode; a figure the report flags exact is exact in
every mode.

A parse result ``(browser, os, device, family)`` is kept as its number in a per-process table
(:func:`combination`), so a block's requests are added per number with one ``bincount``.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import ua_parser

from pipeline.ingest.aggregate.distinct import value_hash

__all__ = [
    "BOT_WORDS",
    "PARSES_PER_REQUEST",
    "PARSE_BURST",
    "PARSE_CACHE_SIZE",
    "TOOL_PREFIXES",
    "classify",
    "combination",
    "forget_parses",
    "hashes_of",
    "parse_agent",
    "refill_budget",
]

#: Distinct agents whose parse each process remembers, in two generations of half this size
#: each: an agent found in the older one moves to the newer, and when the newer is full the older
#: is dropped, so the cache keeps at least the last ``PARSE_CACHE_SIZE / 2`` agents seen and
#: those seen again since (close to an LRU, with only C-level dict lookups, and it can say whether
#: an agent is known without parsing it). About 330 bytes an entry with the agent text, so 83 MB
#: per process when full. On the realistic 5 GB log (269,000 distinct agents) each of two process
#: workers parsed 263,000 agents with a 100,000-entry LRU and 199,000 (each agent it sees, once)
#: from 200,000; the threads of a threading run share one cache and see agents come back after
#: twice as many others. Smaller: less memory, more parses (about 25 us each), which count
#: against the budget. Legal range: 0 (no cache) .. 10,000,000.
PARSE_CACHE_SIZE: Final[int] = 250_000

#: Parses a process may make at once (the bucket's size, and its credit when it starts), and so
#: the most one partition makes. 40,000 parses are about 1 s of one core, once per process.
#: Realistic traffic meets most of its distinct agents early (the realistic shape: 14,000 in the
#: first 16 MiB, 54,000 in the first million requests, 269,000 in 28 million), faster than the
#: per-request credit comes in; with 1/20 per request a process needs about 21,000 up front on
#: that shape, so 40,000 leaves it twice that. Larger: exact on logs that meet new agents faster,
#: a higher one-time cost on adversarial ones. Legal range: 0 (no parse beyond the per-request
#: credit) .. 10,000,000.
PARSE_BURST: Final[int] = 40_000

#: Parses a process gains per request it summarizes: the steady cost of a log whose every agent
#: is new. At 1/20, about 300,000 parses per GB of such a log (170-byte lines; 8 s of a core)
#: instead of 6 million (150 s); realistic traffic needs about 1/70 after its first million
#: requests. Larger: exact on more unusual logs, slower on adversarial ones. Legal range: 0 .. 1.
PARSES_PER_REQUEST: Final[float] = 1 / 20

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


#: The distinct parse results ``(browser, os, device, family)`` this process has seen, in order of
#: first appearance; a result stands for its number here. Grows with the distinct results
#: (hundreds; one per phone model at most), not with the agents.
_COMBINATIONS: list[tuple[str, str, str, str]] = []
_COMBINATION_NUMBER: dict[tuple[str, str, str, str], int] = {}
_LOCK: Final = threading.Lock()


def combination(number: int) -> tuple[str, str, str, str]:
    """The parse result ``(browser, os, device, family)`` numbered ``number`` in this process."""
    return _COMBINATIONS[number]


def parse_agent(agent: str) -> tuple[str, str, str, str]:
    """``(browser, os, device, family)`` of one non-empty agent: ua-parser's family names
    (uap-core's ``Other`` when unknown) and the coarse family (bot, tool, browser, other). Not
    budgeted (one agent); cached like the agents of a partition.

    >>> parse_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
    ('Googlebot', 'Other', 'Spider', 'bot')
    """
    found = _known([agent])[0]
    return combination((found if found is not None else _parsed(agent))[0])


def _parsed(agent: str) -> tuple[int, int]:
    """Parse one agent (a ua-parser call) and remember it: its result number and its
    :func:`~pipeline.ingest.aggregate.distinct.value_hash` as a signed 64-bit int (same bits)."""
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
    key = (browser, os_name, device, _family(agent, browser, device))
    number = _COMBINATION_NUMBER.get(key)
    if number is None:
        with _LOCK:  # threads may find the same new result at once
            number = _COMBINATION_NUMBER.setdefault(key, len(_COMBINATIONS))
            if number == len(_COMBINATIONS):
                _COMBINATIONS.append(key)
    value = (number, _signed(value_hash(agent)))
    _remember(agent, value)
    return value


def hashes_of(texts: list[str]) -> npt.NDArray[np.int64]:
    """:func:`~pipeline.ingest.aggregate.distinct.value_hash` of each text, as signed 64-bit
    ints (the same bits), without a Python int per text (a log of distinct agents hashes each).

    >>> int(hashes_of(["curl/8.5.0"]).view(np.uint64)[0]) == value_hash("curl/8.5.0")
    True
    """
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
                        for text in texts])  # fmt: skip
    return np.frombuffer(digests, dtype="<i8").astype(np.int64)


def _signed(hashed: int) -> int:
    return hashed - (1 << 64) if hashed >= 1 << 63 else hashed


def _family(agent: str, browser: str, device: str) -> str:
    """The coarse family of a non-empty agent (rules 2-5 of :mod:`.agents`)."""
    if device == _SPIDER:
        return "bot"
    lower = agent.lower()
    if _BOT_RE.search(lower):
        return "bot"
    if lower.startswith(TOOL_PREFIXES):
        return "tool"
    return "browser" if browser != _OTHER else "other"


#: The cache's two generations (see :data:`PARSE_CACHE_SIZE`): agent -> :func:`_parsed` value.
_newer: dict[str, tuple[int, int]] = {}
_older: dict[str, tuple[int, int]] = {}


def _remember(agent: str, value: tuple[int, int]) -> None:
    global _newer, _older
    size = PARSE_CACHE_SIZE // 2
    if size <= 0:
        return
    if len(_newer) >= size:
        with _LOCK:
            if len(_newer) >= size:
                _older, _newer = _newer, {}
    _newer[agent] = value


def _known(texts: list[str]) -> list[tuple[int, int] | None]:
    """Each agent's cached value, None when the cache does not have it (no parse)."""
    newer, older = _newer, _older
    values = list(map(newer.get, texts))
    absent = [i for i, value in enumerate(values) if value is None]
    if absent and older:
        for i, value in zip(absent, map(older.get, [texts[i] for i in absent]), strict=True):
            if value is not None:
                values[i] = value
                _remember(texts[i], value)
    return values


#: Parse credit of this process (see the module docstring); threads share it.
_credit: float = float(PARSE_BURST)


def _grant(requests: int, wanted: int) -> int:
    """Add the credit of ``requests`` requests, then take up to ``wanted`` parses from it."""
    global _credit
    with _LOCK:
        _credit = min(float(PARSE_BURST), _credit + requests * PARSES_PER_REQUEST)
        granted = min(wanted, int(_credit))
        _credit -= granted
    return granted


#: The non-empty agents of the last partition this process classified and their values (``(n,
#: 2)`` int64). About half of a block's distinct agents were in the block before (49% on the
#: realistic shape), and one Arrow hash join (``index_in``, which does not hold the GIL) finds
#: them there, where the cache costs a Python call each. Threads share it: each reads the pair
#: once and replaces it whole.
_last_partition: tuple[pa.Array, npt.NDArray[np.int64]] | None = None


def classify(
    agents: pa.Array, requests: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Each distinct non-empty agent's result number (-1 when the budget left it unparsed) and
    hash (signed), as ``(n, 2)`` int64; and which agents were parsed in this call.

    ``agents``: distinct non-empty agents (Arrow strings); ``requests``: requests of each. Agents
    the process knows cost nothing; new ones take credit, the most frequent first, then by hash.
    """
    global _last_partition
    pairs = np.empty((len(agents), 2), dtype=np.int64)
    parsed = np.zeros(len(agents), dtype=bool)
    missing = np.arange(len(agents))
    last = _last_partition
    if last is not None and len(agents):
        where = pc.index_in(agents, value_set=last[0]).fill_null(-1).to_numpy()
        found = where >= 0
        pairs[found] = last[1][where[found]]
        missing = missing[~found]
    refilled = False
    if len(missing):
        texts = agents.take(missing).to_pylist()
        values = _known(texts)
        new = np.array([i for i, value in enumerate(values) if value is None], dtype=np.int64)
        old = np.arange(len(texts))
        if len(new):
            old = np.setdiff1d(old, new, assume_unique=True)
            new_texts = [texts[i] for i in new.tolist()]
            hashes = hashes_of(new_texts)
            order = np.lexsort((hashes.view(np.uint64), -requests[missing[new]]))
            granted, refilled = _grant(int(requests.sum()), len(new)), True
            numbers = np.full(len(new), -1, dtype=np.int64)
            chosen = order[:granted]
            numbers[chosen] = [_parsed(new_texts[i])[0] for i in chosen.tolist()]
            pairs[missing[new], 0] = numbers
            pairs[missing[new], 1] = hashes
            parsed[missing[new[chosen]]] = True
        if len(old):
            pairs[missing[old]] = np.array([values[i] for i in old.tolist()], dtype=np.int64)
    if not refilled:
        _grant(int(requests.sum()), 0)
    known = pairs[:, 0] >= 0
    _last_partition = (agents.filter(known), pairs[known]) if not known.all() else (agents, pairs)
    return pairs, parsed


def refill_budget() -> None:
    """Give this process its whole :data:`PARSE_BURST` of credit again: a run on threads starts
    with the same budget whatever the runs before it parsed (worker processes start full)."""
    global _credit
    with _LOCK:
        _credit = float(PARSE_BURST)


def forget_parses() -> None:
    """Empty this process's parse cache and last-partition results and refill its credit (tests
    and benchmarks: every agent is parsed again, the budget starts afresh)."""
    global _last_partition, _newer, _older, _credit
    with _LOCK:
        _newer, _older = {}, {}
        _last_partition = None
        _credit = float(PARSE_BURST)
