"""Tuning constants of the prime job, in one place, each with its trade-off and legal range.

The sieve has two granularities. ``segment_size`` (numbers per Dask task) sets the size of the
graph and the load balance; inside a task the compiled kernel walks its windows in cache-sized
*blocks* of ``2**BLOCK_LOG`` wheel bytes, so the working set stays in the CPU cache whatever the
task size. Primes are split by how often they hit a block (the primesieve lesson): the tiniest
are stamped from pre-computed patterns, small ones are crossed off in L1-sized parts, medium
ones walk the wheel, and large ones wait in buckets for the blocks they hit.
"""

from __future__ import annotations

from typing import Final

#: Largest ``end`` a range may have. Every intermediate value (``p * p``, ``p * m`` for a multiple
#: past a block start, byte offsets) stays far below ``2**63``, and the sieving primes up to
#: ``isqrt(MAX_END)`` (about 1.9 million, 15 MB) are cheap to compute once per worker process.
#: Raising it is safe for int64 up to about 4e18 but the sieving primes grow with its root.
MAX_END: Final[int] = 10**15

#: Largest ``--nth``: pi(10^15) = 29,844,570,422,669 (OEIS A006880), the index of the largest
#: prime below ``MAX_END`` (999,999,999,999,989; 10^15 is not prime), so the Nth prime is always
#: within the sieve's supported range. Tied to MAX_END: change both together.
MAX_NTH: Final[int] = 29_844_570_422_669

#: Default numbers per sieve task. Larger means fewer tasks (less scheduler overhead, about 1 ms
#: per task in process mode, and less start-up per window: placing each sieving prime, about
#: 30 ms per window near 10^15) but coarser load balance and a longer longest task, which is what
#: Ctrl-C waits for (a compiled task cannot be interrupted). 2**28 (268 million) is about 0.2 s
#: of one core at 10^10 and 0.5 s near 10^15; pi(10^11) is 373 tasks. Legal range:
#: MIN_SEGMENT_SIZE .. MAX_SEGMENT_SIZE; a task's memory does not depend on it.
DEFAULT_SEGMENT_SIZE: Final[int] = 2**28
MIN_SEGMENT_SIZE: Final[int] = 30
MAX_SEGMENT_SIZE: Final[int] = 2**40

#: Most sieve tasks a run builds. When the requested segment size would give more, the segment
#: size grows (logged at INFO) instead: a graph of millions of tasks costs more memory and time in
#: the scheduler than the sieving it organises (``--segment-size 30`` over the sample, or
#: ``[[0, 1e15]]``). 10,000 tasks keep graph building and scheduling under a few seconds.
#: Legal range: >= 2.
MAX_TASKS: Final[int] = 10_000

#: Most ranges a file may hold. Plans, piece summaries and the report grow with the number of
#: ranges (about 2 kB each in all), so a million ranges is a few GB and is refused up front
#: rather than running out of memory. Legal range: >= 1.
MAX_RANGES: Final[int] = 1_000_000

#: The plan's cost model, from the kernel measured on the reference machine (AMD EPYC, 2 cores):
#: about 1 ns of one core per number (1.5 ns near 10^15) and, per window, about 20 numbers' worth
#: of work for each sieving prime up to ``sqrt(hi)`` (finding its first multiple). It groups
#: small windows into tasks and gives the INFO line's time estimate; it needs no precision.
NS_PER_NUMBER: Final[float] = 1.2
INIT_NUMBERS_PER_PRIME: Final[int] = 20

#: The reduction merges a range's pieces one by one when it spans at most this many, otherwise
#: through a segment tree over all pieces (built once, ``O(log pieces)`` merges per range). Any
#: value >= 1 is correct; this one keeps both paths cheap.
SEGMENT_TREE_SPAN: Final[int] = 64

#: log2 of the bytes of wheel-30 sieve processed at once (a *block*; one byte = 30 numbers, so
#: 2**18 bytes = 7.9 million numbers; primesieve's segment is 256 KiB too). Small and medium
#: primes write all over the block, so it should sit in the L2 cache (512 kB - 1 MB per core on
#: current x86); smaller blocks make every prime pay its per-block loop overhead more often
#: (2**17 was 25 % slower at 10^10 on the reference machine, 2**19 15 %). Legal range: 10 .. 22
#: (large-prime bucket entries keep the in-block offset in 26 bits; the tests use 10 to cross
#: many blocks).
BLOCK_LOG: Final[int] = 18

#: Pre-sieve groups: each group's product P is the period (in bytes) of a pattern that is AND-ed
#: into every block, 4 patterns per pass over the block, instead of crossing off its primes one by
#: one (primesieve's 16 tables, the primes 7 .. 163). More primes remove more crossings per byte
#: but cost more patterns to AND (a pass per 4) and larger patterns (P bytes each, built once per
#: process) must stream through the cache with the block: these are 6-10 kB each, 125 kB in all.
#: Pre-sieving up to 163 instead of 71 (5 groups of 20-320 kB) saved about 5 ms of small-prime
#: crossing per 2^28 numbers for 1 ms more pre-sieve. Primes must be > 5 (2, 3, 5 are the
#: wheel), ascending within a group, each in one group only.
PRESIEVE_GROUPS: Final[tuple[tuple[int, ...], ...]] = (
    (7, 23, 37),
    (11, 19, 31),
    (13, 17, 29),
    (41, 163),
    (43, 157),
    (47, 151),
    (53, 149),
    (59, 139),
    (61, 137),
    (67, 131),
    (71, 127),
    (73, 113),
    (79, 109),
    (83, 107),
    (89, 103),
    (97, 101),
)

#: log2 of the bytes a small prime crosses off at once (a part of a block). Small primes write
#: all over it, so it must sit in a cache; each prime pays its set-up and the crossings of the
#: steps cut by a part edge (one by one along the wheel) once per part. With the per-class loop
#: (8 crossings per step, immediate masks) the whole block (2**18, in L2) measured 5-8 % faster
#: per window at 10^10 and 10^11 than 2**17 (equal at 10^15), and 2**15 (L1) slower still in the
#: microbenchmark for every prime size. Legal range: 6 .. BLOCK_LOG.
SMALL_BLOCK_LOG: Final[int] = 18

#: A sieving prime is *small* (crossed off 8 multiples per step, one part of a block at a time)
#: when each residue class has at least this many hits per part
#: (``p <= 2**SMALL_BLOCK_LOG / SMALL_PRIME_HITS``), otherwise it walks the wheel hit by hit
#: (*medium*). The small loop is tighter but pays a set-up per prime and part. Legal range: >= 1.
SMALL_PRIME_HITS: Final[int] = 2

#: A sieving prime is *large* (kept in buckets, touched only by the blocks it hits) when
#: ``p >= 2**BLOCK_LOG * LARGE_PRIME_BLOCKS``, i.e. it has about ``8 / LARGE_PRIME_BLOCKS`` hits
#: per block. Lower values move more primes to the buckets (less per-block work for primes that
#: miss the block, more bucket traffic per hit). Legal range: >= 1.
LARGE_PRIME_BLOCKS: Final[int] = 1

#: Entries (8 bytes each) per chunk of the large-prime bucket pool. Bigger chunks mean fewer
#: chunk switches but more memory held by partly filled chunks (up to two per bucket). Legal
#: range: a power of two >= 16 (the kernel tests ``index & (BUCKET_CHUNK - 1)`` for a full chunk).
BUCKET_CHUNK: Final[int] = 2048

#: How many primes a summary keeps at each end (the report shows the first 20 primes).
EDGE_PRIMES: Final[int] = 20

#: Numbers per task with ``--primes-out``. Such a task returns its primes as text (about 12 bytes
#: per prime near 10^11) and a few tasks' worth wait in memory for their turn to be written, so it
#: is smaller than a counting task: 2**24 numbers are under 1 million primes, about 10 MB of text.
#: Smaller means more tasks; larger means more memory per task. Legal range: MIN_SEGMENT_SIZE ..
#: MAX_SEGMENT_SIZE.
PRIMES_OUT_SEGMENT: Final[int] = 2**24

#: On a first run (numba's cache empty, the kernel compiling in the background) a task whose
#: windows end at most here sieves with numpy (:mod:`pipeline.prime.sieve.interim`) until the
#: compiled kernel is ready; a task above waits for it. numpy pays one Python-level slice per
#: sieving prime and chunk of 8.4 million numbers (about 0.4 us each): below 2**40 (82,000
#: sieving primes) that is a few ns per number, near 10^15 (2 million) about 100, slower than
#: waiting for the compile. Legal range: >= 0 (0: always wait).
INTERIM_MAX_END: Final[int] = 2**40

#: A job whose whole estimated work, costed for the plain numpy sieve (each number, plus
#: ``PLAIN_NUMBERS_PER_PRIME`` per sieving prime and window for its Python-level slice), is at
#: most ``PLAIN_MAX_COST`` runs on :mod:`pipeline.prime.sieve.plain` instead of the compiled kernel:
#: a few milliseconds of numpy beat the half second numba needs to start. Raising it moves bigger
#: jobs to the slow path; 0 disables it. Legal range: >= 0.
PLAIN_MAX_COST: Final[int] = 2_000_000
PLAIN_NUMBERS_PER_PRIME: Final[int] = 2_000
