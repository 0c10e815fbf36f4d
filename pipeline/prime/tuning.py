"""Tuning constants of the prime job, in one place, each with its trade-off and legal range.

The sieve has two granularities. ``segment_size`` (numbers per Dask task) sets the size of the
graph and the load balance; inside a task the kernel walks its segment in cache-sized *blocks* of
``BLOCK_BYTES`` wheel bytes, so the working set stays in the CPU cache whatever the task size.
Primes are split by how often they hit a block (the primesieve lesson): the tiniest are stamped
from a pre-computed pattern, small ones are crossed off with one fancy assignment per prime on a
2-D strided view whose columns are the prime's 8 wheel progressions, and the rest ("bucket"
primes, few hits per block) have all their hit positions generated at once with numpy arithmetic
and cleared by one fancy-index assignment.
"""

from __future__ import annotations

from typing import Final

#: Largest ``end`` a range may have. Every intermediate value (``p * p``, ``p * m`` for a multiple
#: past a block start, flat block offsets) stays far below ``2**63``, and the base primes up to
#: ``isqrt(MAX_END)`` (about 1.9 million, 15 MB) are cheap to compute and ship to each task.
#: Raising it is safe for int64 up to about 4e18 but the base-prime task grows with its root.
MAX_END: Final[int] = 10**15

#: Default numbers per segment task. Larger means fewer tasks (less scheduler and pickling
#: overhead, about 1 ms per task in process mode) but coarser load balance across workers and a
#: larger largest-task latency. 2**27 (134 million) gives ~75 tasks for pi(10^10), plenty for
#: balance on a few workers. Legal range: MIN_SEGMENT_SIZE .. MAX_SEGMENT_SIZE; a task's memory
#: does not depend on it (the kernel works block by block).
DEFAULT_SEGMENT_SIZE: Final[int] = 2**27
MIN_SEGMENT_SIZE: Final[int] = 30
MAX_SEGMENT_SIZE: Final[int] = 2**40

#: Bytes of the wheel-30 sieve array processed at once (8 bytes = one wheel turn of 30 numbers,
#: so a block covers ``BLOCK_BYTES * 30 / 8`` numbers). Smaller blocks stay in L1/L2 and make each
#: strided write cheaper, but every block pays Python overhead for every small prime (about 1-2 us
#: per 2-D assignment), a few numpy calls for every bucket band, and fewer primes qualify as small.
#: Measured on a 2-core EPYC (1 MiB L2): 2**20 beats 2**18 and 2**19; bigger blocks make the
#: bucket scatter miss L2. Legal range: a multiple of 8, 2**12 .. 2**26.
BLOCK_BYTES: Final[int] = 2**20

#: Pre-sieve groups: each group's product P gives a pattern of period 8*P bytes that is tiled
#: (copied, then AND-ed for later groups) instead of crossing off its primes one by one. Larger
#: products remove more crossings per byte but cost memory (8*P + BLOCK_BYTES bytes per group,
#: built once per process); a third group (37, 41, 43) measured slower, not faster, here, as the
#: extra pattern streams evict the block from L2. Primes must be > 5 (2, 3, 5 are the wheel)
#: and ascending.
PRESIEVE_GROUPS: Final[tuple[tuple[int, ...], ...]] = ((7, 11, 13, 17, 19), (23, 29, 31))

#: A sieving prime is crossed off through the 2-D strided view (one assignment per prime and
#: block) when each of its 8 wheel columns has at least this many hits in a block
#: (``BLOCK_BYTES / 8 / p``); otherwise its hits are generated in bulk (the bucket path). The
#: assignment costs ~1-2 us of Python overhead, a bulk hit about 4-6 ns against ~2-3 ns for a
#: strided one, so the break-even is a few dozen hits per column. Legal range: >= 1.
SLICE_MIN_HITS: Final[int] = 64

#: Bucket primes are grouped in bands whose largest prime is below ``BAND_RATIO`` times the
#: smallest. A band's hits are generated as a dense ``(max_hits, 8, primes)`` array, sized for its
#: smallest prime, so a wide band writes up to ``1 - 1/BAND_RATIO`` of its hits to the clipped
#: pad byte; a narrow band wastes less but costs a few more numpy calls per block (about 5 each).
#: Legal range: > 1.
BAND_RATIO: Final[float] = 1.5

#: How many primes a summary keeps at each end (the report shows the first 20 primes).
EDGE_PRIMES: Final[int] = 20

#: Fan-in of the summary reduction tree: more children per task means fewer, shallower tasks.
#: Summaries are tiny, so anything from 2 up works; 8 keeps the tree depth at 2-3 levels.
REDUCE_FANIN: Final[int] = 8
