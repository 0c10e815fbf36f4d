"""Text report of the prime job: the union summary and the per-range tables, within 100 columns.

The per-range figures are split over two tables (counts and densities; twin pairs and gaps) so
that ranges near 10^15 still fit 100 columns; per-range smallest and largest primes are in the
JSON report only. Range names have their control characters escaped and are cut to
:data:`NAME_WIDTH` characters. With ``--tuplets`` a third table counts the k-tuplets of each
range, and the union's are a line of the summary; with ``--nth`` the summary opens with the
Nth prime.
"""

from __future__ import annotations

from typing import Final

from pipeline.prime.report.result import TUPLET_NAMES, PrimeResult
from pipeline.reporting.text import (
    Cell,
    footer,
    format_table,
    plural,
    printable,
    printable_cut,
    report_header,
)

#: Longest range name shown (longer ones end with an ellipsis); the JSON has the whole name.
NAME_WIDTH: Final[int] = 24


def render_prime(result: PrimeResult) -> str:
    """Render a :class:`PrimeResult` as plain text (the ``--format text`` report)."""
    density = result.density
    first = ", ".join(str(p) for p in result.first_primes) or "-"
    facts = [
        (
            "ranges",
            f"{plural(len(result.ranges), 'range')}, {plural(result.covered, 'integer')} "
            "in their union",
        ),
        ("primes", f"{result.total_primes:,} (union)"),
        ("smallest", _num(result.smallest)),
        ("largest", _num(result.largest)),
        ("twin pairs", f"{result.twin_pairs:,} (union)"),
        (
            "density",
            f"overall {_density(density['overall'])}, min {_density(density['min'])}, "
            f"max {_density(density['max'])}, mean {_density(density['mean'])}",
        ),
        ("first primes", first),
        ("segments", f"{result.segments:,}"),
    ]
    if result.primes_out is not None:
        facts.append(("primes written to", printable(result.primes_out)))
    if result.tuplets is not None:
        named = zip(TUPLET_NAMES[1:], result.tuplets, strict=True)
        facts.insert(5, ("tuplets", ", ".join(f"{name} {n:,}" for name, n in named) + " (union)"))
    if result.nth is not None:
        facts.insert(0, ("nth prime", f"the {ordinal(result.nth)} prime is {result.largest:,}"))
    lines = report_header("Prime report", facts)
    names = [_name(r.name, index) for index, r in enumerate(result.ranges)]
    lines += [
        "",
        "Primes per range",
        format_table(
            ["range", "start", "end", "primes", "density"],
            [
                [name, r.start, r.end, r.count, Cell(_density(r.density))]
                for name, r in zip(names, result.ranges, strict=True)
            ],
        ),
        "",
        "Twin pairs and largest gap per range (after: the prime the gap follows)",
        format_table(
            ["range", "twin pairs", "max gap", "after"],
            [
                [name, r.twin_pairs, r.max_gap, r.gap_after]
                for name, r in zip(names, result.ranges, strict=True)
            ],
        ),
    ]
    if result.tuplets is not None:
        lines += [
            "",
            "Prime k-tuplets per range (all members in the range, as primesieve -c2 .. -c6)",
            format_table(
                ["range", *TUPLET_NAMES],
                [
                    [name, r.twin_pairs, *(r.tuplets or (0, 0, 0, 0))]
                    for name, r in zip(names, result.ranges, strict=True)
                ],
            ),
        ]
    lines += [
        "",
        footer(result.elapsed_s, result.mode, result.workers),
    ]
    return "\n".join(lines) + "\n"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``11th``, ``1,000,000th``.

    >>> [ordinal(k) for k in (1, 2, 3, 4, 11, 12, 13, 21, 10**6)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '1,000,000th']
    """
    suffix = "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n:,}{suffix}"


def _density(value: float) -> str:
    """4 significant digits.

    >>> _density(0.050912844), _density(1.0), _density(3.3e-11)
    ('0.05091', '1', '3.3e-11')
    """
    return f"{value:.4g}"


def _name(name: str | None, index: int) -> str:
    return printable_cut(name, NAME_WIDTH) if name is not None else f"#{index}"


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
