"""Large sieving primes in buckets: primesieve's ``EratBig``.

A *large* prime (``p >= 2**BLOCK_LOG * LARGE_PRIME_BLOCKS``) hits a block a few times at most
and misses most blocks, so looking at it in every block would cost more than its crossings.
Instead each prime waits in the *bucket* of the block its next multiple falls in, one bucket per
block ahead (circular: ``nslots`` buckets cover the largest step of any prime), and a block only
touches the primes that hit it.

As in ``EratBig``, each bucket entry crosses off exactly one multiple and moves to the bucket of
its next one (the current bucket again when it hits this block twice; that bucket is emptied
until it stays empty), so the hot loop has no inner loop to mispredict. An entry is one uint64:
``p // 30`` (high 32 bits), the byte offset in its block (bits 6..31, hence ``BLOCK_LOG <= 26``)
and the wheel index (bits 0..5). Buckets are linked chunks of ``BUCKET_CHUNK`` entries from one
preallocated *pool* (``chunk_next`` links a chunk to the older one, ``free`` is a stack of free
chunks), a full chunk recognised by its end index, so the working set is a few sequential
streams, not 2 million scattered primes: this keeps windows near 10^15 (sieving primes up to
3.2e7) fast. ``slot_end[s]`` is the pool index where bucket ``s``'s next entry goes (in its
newest chunk), -1 while the bucket is empty.

A prime joins its first bucket when the sieve reaches its square (:func:`join_large`), its first
multiple found as :func:`pipeline.prime.sieve.crossing.first_multiplier` does, in uint64.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipeline.prime.sieve import wheel
from pipeline.prime.sieve.compiled import njit

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]

_RESIDUE_INDEX = wheel.RESIDUE_INDEX
_TO_COPRIME = wheel.TO_COPRIME
_WHEEL_MASK = wheel.WHEEL_MASK
_U_DELTA = wheel.WHEEL_DELTA.astype(np.uint64)
_U_CORRECTION = wheel.WHEEL_CORRECTION.astype(np.uint64)
_U_NEXT = wheel.WHEEL_NEXT.astype(np.uint64)
_U_TO_COPRIME = wheel.TO_COPRIME.astype(np.uint64)
_U_RESIDUE_INDEX = wheel.RESIDUE_INDEX.astype(np.uint64)  # only read for residues coprime to 30


@njit
def join_large(
    lo: int,
    nbytes: int,
    b: int,
    start: int,
    block_end: int,
    block_log: int,
    chunk: int,
    primes: I64,
    next_large: int,
    stop: int,
    nfree: int,
    pool: U64,
    chunk_next: I64,
    free: I64,
    slot_end: I64,
) -> tuple[int, int]:
    """Put each large prime whose square is below ``block_end`` (block ``b``, at byte ``start``
    of a window of ``nbytes`` bytes from ``lo // 30``) into the bucket of its first multiple;
    ``(next_large, nfree)`` after it. A prime without a multiple in the window is dropped."""
    nslots = slot_end.size
    # unsigned arithmetic (see sweep_bucket): divisions and remainders by 30 become a multiply
    # and a shift, table look-ups lose their negative-index check
    ulo = np.uint64(lo)
    ubase = np.uint64(lo // 30 + start)
    uleft = np.uint64(nbytes - start)
    ub = np.uint64(b)
    ulog = np.uint64(block_log)
    uslots = np.uint64(nslots - 1)
    uoffset = np.uint64((1 << block_log) - 1)
    u6 = np.uint64(6)
    u30 = np.uint64(30)
    u32 = np.uint64(32)
    while next_large < stop and primes[next_large] * primes[next_large] < block_end:
        up = np.uint64(primes[next_large])
        next_large += 1
        um = np.uint64(np.float64(lo) / np.float64(up))  # floor or ceil of lo / p
        if um * up < ulo:
            um += np.uint64(1)
        um = max(um, up)
        um += _U_TO_COPRIME[um % u30]
        uo = up * um // u30 - ubase  # the first multiple is at least p*p: in this block or later
        if uo >= uleft:
            continue
        uw = np.uint64(8) * _U_RESIDUE_INDEX[up % u30] + _U_RESIDUE_INDEX[um % u30]
        slot = (ub + (uo >> ulog)) & uslots
        x = slot_end[slot]
        if x < 0:
            nfree -= 1
            x = free[nfree] * chunk
            chunk_next[x // chunk] = -1
        pool[np.uint64(x)] = ((up // u30) << u32) | ((uo & uoffset) << u6) | uw
        x += 1
        if x & (chunk - 1) == 0:  # full: link a fresh chunk in front
            nfree -= 1
            chunk_next[free[nfree]] = x // chunk - 1
            x = free[nfree] * chunk
        slot_end[slot] = x
    return next_large, nfree


@njit
def sweep_bucket(
    block: U8,
    b: int,
    nblocks: int,
    block_log: int,
    chunk: int,
    nfree: int,
    pool: U64,
    chunk_next: I64,
    free: I64,
    slot_end: I64,
) -> int:
    """Cross off the multiples in bucket ``b``'s block and move each entry to the bucket of its
    next multiple (dropped past block ``nblocks - 1``, the window's end); ``nfree`` after it.

    An entry that hits this block again lands in this bucket and is seen in the next round of
    the outer loop; emptied chunks go back to the free stack.
    """
    nslots = slot_end.size
    current = b & (nslots - 1)
    ublocks_left = np.uint64(nblocks - b)
    ub = np.uint64(b)
    uslots = np.uint64(nslots - 1)
    ulog = np.uint64(block_log)
    uoffset = np.uint64((1 << block_log) - 1)
    u6 = np.uint64(6)
    u32 = np.uint64(32)
    u63 = np.uint64(63)
    uchunk = np.uint64(chunk - 1)
    while slot_end[current] >= 0:
        end = slot_end[current]
        slot_end[current] = -1
        c = end // chunk  # the newest chunk (possibly empty)
        while c >= 0:
            for e in range(np.uint64(c * chunk), np.uint64(end)):
                entry = pool[e]
                uq = entry >> u32
                uo = (entry >> u6) & uoffset
                uw = entry & u63
                block[uo] &= _WHEEL_MASK[uw]
                uo += uq * _U_DELTA[uw] + _U_CORRECTION[uw]
                ahead = uo >> ulog
                if ahead >= ublocks_left:
                    continue  # past the window
                slot = (ub + ahead) & uslots
                x = slot_end[slot]
                if x < 0:
                    nfree -= 1
                    x = free[nfree] * chunk
                    chunk_next[x // chunk] = -1
                ux = np.uint64(x)
                pool[ux] = (uq << u32) | ((uo & uoffset) << u6) | _U_NEXT[uw]
                ux += np.uint64(1)
                if ux & uchunk == 0:
                    nfree -= 1
                    chunk_next[free[nfree]] = np.int64(ux) // chunk - 1
                    ux = np.uint64(free[nfree] * chunk)
                slot_end[slot] = np.int64(ux)
            following = chunk_next[c]
            free[nfree] = c
            nfree += 1
            c = following
            end = c * chunk + chunk
    return nfree
