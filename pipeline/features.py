"""Registration of the built-in features: one ``register`` call per job module.

A new job is a new module under ``pipeline/`` plus one ``register(Feature(...))`` here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

#: Bundled sample inputs, resolved from this file so the defaults work from any directory.
DATA_DIR: Final[Path] = Path(__file__).resolve().parent.parent / "data"

# --- registrations (one block per feature) ---

# prime: segmented sieves over the ranges in a JSON file (pipeline/prime/)
from pipeline.prime import DEFAULT_SEGMENT_SIZE, render_prime, run_prime  # noqa: E402
from pipeline.prime.tuning import MIN_SEGMENT_SIZE  # noqa: E402
from pipeline.registry import Feature, FeatureOption, register  # noqa: E402

register(
    Feature(
        name="prime",
        help="Count primes, twin pairs and gaps in the ranges of a JSON file.",
        description=(
            "Each range is cut into segments sieved in parallel (one task per segment); "
            "totals are over the union of the ranges."
        ),
        default_path=DATA_DIR / "ranges.json",
        run=run_prime,
        render_text=render_prime,
        options=(
            FeatureOption(
                "segment_size",
                int,
                DEFAULT_SEGMENT_SIZE,
                "Numbers per sieve task (task granularity; memory does not depend on it).",
                min=MIN_SEGMENT_SIZE,
                metavar="N",
            ),
            FeatureOption(
                "primes_out",
                str,
                None,
                "Also write every prime of the union to FILE, ascending, one per line.",
                metavar="FILE",
            ),
        ),
        examples=(
            "python cli.py prime",
            "python cli.py prime --path ranges.json --worker 2 --mode process --format json",
            "python cli.py prime --segment-size 10000000 --primes-out primes.txt",
        ),
    )
)
