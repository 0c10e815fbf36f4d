"""Registration of the prime feature (imported by :mod:`pipeline.registry` on demand).

Kept apart from :mod:`pipeline.ingest.feature` so that running ``cli.py prime`` imports neither
pandas nor the ingest job: only this light module, and the job itself when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.prime.tuning import DEFAULT_SEGMENT_SIZE, MIN_SEGMENT_SIZE
from pipeline.registry import Feature, FeatureOption, register
from pipeline.reporting.units import parse_count

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"


def _run(path: str, settings: Any, **options: Any) -> Any:
    from pipeline.prime.job import run_prime
    from pipeline.prime.options import PrimeOptions

    return run_prime(path, settings, PrimeOptions(**options))


def _render(result: Any) -> str:
    from pipeline.prime.report.text import render_prime

    return render_prime(result)


def _render_html(result: Any, context: Any) -> str:
    from pipeline.prime.report.html import render_prime_html

    return render_prime_html(result, context)


FEATURE = register(
    Feature(
        name="prime",
        help=(
            "Count primes, twin pairs, gaps and (--tuplets) prime k-tuplets in the ranges of a "
            "JSON file or of --range, or find the Nth prime (--nth)."
        ),
        path_help='JSON file of ranges: a list of {"start": a, "end": b} or [a, b].',
        description=(
            "Each range is cut into segments sieved in parallel (one task per segment); "
            "totals are over the union of the ranges."
        ),
        default_path=DATA_DIR / "ranges.json",
        run=_run,
        render_text=_render,
        render_html=_render_html,
        options=(
            FeatureOption(
                "segment_size",
                parse_count,
                DEFAULT_SEGMENT_SIZE,
                f"Numbers per sieve task, at least {MIN_SEGMENT_SIZE}; 1e6-style notation is "
                "accepted (task granularity; memory does not depend on it). Raised "
                "automatically to keep at most 10,000 tasks.",
                metavar="N",
            ),
            FeatureOption(
                "primes_out",
                str,
                None,
                "Also write every prime of the union to FILE, ascending, one per line.",
                metavar="FILE",
                output=True,
            ),
            FeatureOption(
                "ranges",
                str,
                (),
                "Sieve START:END (both included; 1e10 notation allowed) instead of a ranges "
                "file. Repeatable; not with --path.",
                metavar="START:END",
                flag="--range",
                multiple=True,
                replaces_path=True,
            ),
            FeatureOption(
                "tuplets",
                bool,
                False,
                "Also count twins, triplets, quadruplets, quintuplets and sextuplets per range "
                "and for the union, as primesieve -c2 .. -c6 does.",
            ),
            FeatureOption(
                "nth",
                parse_count,
                None,
                "Find the Nth prime (1e10 notation allowed; N up to 29,844,570,422,669, the "
                "index of the largest prime below 10^15) and report the range 0 to it. Not "
                "with --range or --path.",
                metavar="N",
                replaces_path=True,
            ),
        ),
        examples=(
            "python cli.py prime",
            "python cli.py prime --range 0:1e10 --worker 2",
            "python cli.py prime --path ranges.json --worker 2 --mode process --format json",
            "python cli.py prime --segment-size 10000000 --primes-out primes.txt",
            "python cli.py prime --range 0:1e9 --tuplets",
            "python cli.py prime --nth 1e9 --worker 2",
        ),
    )
)
