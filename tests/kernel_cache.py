"""Fill numba's cache with the prime kernel: ``python -m tests.kernel_cache`` (about 10 s of one
core on a fresh checkout, a second once cached).

``make test`` and ``make check`` run it beside mypy, before the tests: otherwise each xdist
worker, and each CLI subprocess started before the cache is written, compiles the kernel again.
"""

from __future__ import annotations


def main() -> None:
    """Compile every numba function of the kernel (counting and listing) on a tiny window."""
    from pipeline.prime.sieve.kernel import primes_text, sieve_window, window_primes

    sieve_window(0, 10**6, [5 * 10**5])
    primes_text(window_primes(0, 10**6))


if __name__ == "__main__":
    main()
