"""Fill numba's cache with the prime kernel and ingest's compiled loops:
``python -m tests.kernel_cache`` (about 15 s of one core on a fresh checkout, a second once
cached).

``make test`` and ``make check`` run it beside mypy, before the tests: otherwise each xdist
worker, and each CLI subprocess started before the cache is written, compiles the kernel again.
"""

from __future__ import annotations


def main() -> None:
    """Compile every numba function of the kernel (counting and listing) on a tiny window, and
    ingest's compiled cut and its own grammar's walk on one line each."""
    import pyarrow as pa

    from pipeline.ingest.formats.presets import preset
    from pipeline.ingest.parsing.own_grammar import own_fields
    from pipeline.ingest.parsing.scan import cut_fields
    from pipeline.prime.sieve.kernel import primes_text, sieve_window, window_primes

    sieve_window(0, 10**6, [5 * 10**5])
    primes_text(window_primes(0, 10**6))
    line = '::1 - - [10/Oct/2000:13:55:36 +0200] "GET / HTTP/1.1" 200 5 "-" "curl/8"'
    cut_fields(pa.array([line], type=pa.large_string()), preset("combined"), compiled=True)
    own = "[GET] /a, status=200, time=1ms user-agent=x"
    own_fields(pa.array([own], type=pa.large_string()), compiled=True)


if __name__ == "__main__":
    main()
