"""The caps that bound an ingest run's memory by the report, not by the input.

Each constant says what it bounds, its trade-off and its legal range. Larger caps keep more
figures exact (and make the proofs of exactness succeed more often) at the cost of memory per
partial; a partial's worst case is about ``PATHS * PATH_LATENCY.cap + LATENCY.cap * groups``
latency entries of 24 bytes (group number, value, count), tens of MB, whatever the input size.
A process-mode run holds up to ``MERGE_FAN_IN`` such partials in its main process while they are
merged, so these caps, not the input, set its memory.
"""

from __future__ import annotations

from typing import Final

from pipeline.ingest.aggregate.distribution import Spec

#: Latency per (method, status class): exact up to 65,536 distinct latencies per group (every
#: millisecond-resolution latency up to 65 s, every 0.1 ms one up to 6.5 s), then a sketch with
#: 0.1% relative error on its percentiles. 24 bytes per entry: 1.6 MB per full group.
#: Cap >= 1; 0 < alpha < 0.5.
LATENCY: Final[Spec] = Spec(("method", "status_class"), cap=65_536, alpha=0.001)

#: Latency per kept path: exact up to 1,024 distinct latencies (millisecond resolution up to
#: 1 s), then a sketch with 1% relative error (about 115 buckets per decade of latency). With
#: ``PATHS`` paths this is at most about 2 million entries (48 MB) per partial.
PATH_LATENCY: Final[Spec] = Spec(("path",), cap=1_024, alpha=0.01)

#: Latency per timeline slot: exact up to 256 distinct latencies, then a 2% sketch (a plot of
#: p50/p95 needs no more).
TIMELINE_LATENCY: Final[Spec] = Spec(("minute",), cap=256, alpha=0.02)

#: Paths (templates unless --raw-paths) a partial keeps, the most frequent ones; the others are
#: summed into a bound (:mod:`pipeline.ingest.aggregate.topk`). At least ``MAX_TOP`` (1,000) so a
#: top list can be proven exact; more keeps rare paths' counts exact longer.
PATHS: Final[int] = 2_000

#: Paths a partial keeps among 4xx/5xx responses (``top_errors``). At least 1,000.
ERROR_PATHS: Final[int] = 2_000

#: Full user-agent strings a partial keeps (``user_agents.top``). At least 1,000.
AGENTS: Final[int] = 2_000

#: Most time slots a partial keeps, and most rows of a timeline: the slot grows from 1m to 5m,
#: 15m, 1h, 1d, 5d, 365d, 3650d until the time seen fits (5,000 one-minute slots are 3.5 days,
#: 5,000 of 3650d are 50,000 years); an explicit --bucket that the slots cannot give, or that
#: gives more rows than this, is raised, with a note. At least 300 (the rows of an ``auto``
#: timeline).
TIMELINE_SLOTS: Final[int] = 5_000

#: ``--exact``: distinct latencies a later pass keeps, shared by all its windows (24 bytes each:
#: 2**20 entries are 24 MB per partial, whatever the input). A window gets ``EXACT_BUDGET //
#: windows`` of them, at least ``EXACT_MIN_WINDOW``; a window with more distinct values is
#: counted in that many sub-windows instead and refined by one more pass, so a larger budget
#: means fewer passes (at most ``1 + ceil(64 / log2(cap))``), a smaller one less memory.
#: Legal range: >= EXACT_MIN_WINDOW.
EXACT_BUDGET: Final[int] = 2**20

#: ``--exact``: the fewest distinct values a window keeps whatever the number of windows, which
#: bounds the passes (16 gives at most 17). Legal range: >= 2.
EXACT_MIN_WINDOW: Final[int] = 16

#: Client addresses a partial keeps (``hosts``), the most frequent ones, with their bytes; the
#: others are summed into a bound (:mod:`pipeline.ingest.aggregate.topk`). At least 1,000.
CLIENTS: Final[int] = 2_000

#: Latency per kept client address (``hosts[].p95``): as :data:`PATH_LATENCY` (1,024 distinct
#: latencies exact, then a 1% sketch); at most ``CLIENTS`` groups, about 48 MB per partial.
CLIENT_LATENCY: Final[Spec] = Spec(("client",), cap=1_024, alpha=0.01)

#: Virtual hosts a partial keeps (``virtual_hosts``), with their bytes. At least 1,000.
VHOSTS: Final[int] = 2_000

#: Latency per kept virtual host (``virtual_hosts[].p95``): as :data:`PATH_LATENCY`.
VHOST_LATENCY: Final[Spec] = Spec(("host",), cap=1_024, alpha=0.01)

#: Referring sites (the referer URL's host) a partial keeps (``referrers.sites``). At least 1,000.
REFERRER_SITES: Final[int] = 2_000

#: Referer URLs as written a partial keeps (``referrers.urls``). At least 1,000.
REFERRER_URLS: Final[int] = 2_000

#: Distinct (UTC day, client, user agent) visitors counted exactly, as (day, 64-bit hash) pairs of
#: 16 bytes: up to 3.2 MB per partial. Beyond it every day becomes an HLL sketch of
#: ``2**VISITOR_LG_K`` registers (the count is then an estimate, flagged). Larger: exact on
#: bigger logs, bigger partials. Legal range: 0 (always sketches) .. 10,000,000.
VISITORS_EXACT: Final[int] = 200_000

#: log2 of the HLL registers of one day's visitor sketch: 12 gives 4 KB per day (HLL_8) and a
#: relative standard error of 1.6% per day after a union; a year of days is 1.5 MB. Each step up
#: halves the variance and doubles the size. Legal range: 7 .. 21.
VISITOR_LG_K: Final[int] = 12

#: 5-minute intervals a partial keeps for ``bandwidth.p95_bps`` (16 bytes each: 17 MB at the
#: cap, 10 years of intervals). Beyond it the partial keeps one total per UTC day: ``by_day``
#: stays exact and ``p95_bps`` becomes null, flagged. Legal range: >= 1.
BANDWIDTH_INTERVALS: Final[int] = 1_051_200

#: Most UTC days a per-day panel keeps (``visitors`` and ``bandwidth.by_day``): the most recent
#: ones, so that a log spanning centuries cannot hold a visitor sketch (4 KB) per day for each of
#: them. 3,660 days (10 years) are 15 MB of sketches at most. Beyond it the older days are
#: dropped, flagged in ``exact`` (the kept days stay exact or estimated as before; dropping the
#: oldest days gives the same days for any merge order). Legal range: >= 1.
PANEL_DAYS: Final[int] = 3_660
