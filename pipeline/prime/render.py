"""Text report of the prime job: a summary block and one table row per range."""

from __future__ import annotations

from pipeline.prime.result import PrimeResult
from pipeline.report import format_table


def render_prime(result: PrimeResult) -> str:
    """Render a :class:`PrimeResult` as plain text (the ``--format text`` report)."""
    density = result.density
    first = ", ".join(str(p) for p in result.first_primes) or "-"
    lines = [
        f"prime: {len(result.ranges)} range(s), {result.covered:,} integers in their union",
        f"total primes (union): {result.total_primes:,}",
        f"smallest / largest: {_num(result.smallest)} / {_num(result.largest)}",
        f"twin pairs (union): {result.twin_pairs:,}",
        f"density: overall {density['overall']:.6f}, min {density['min']:.6f}, "
        f"max {density['max']:.6f}, mean {density['mean']:.6f}",
        f"first primes: {first}",
        "",
    ]
    rows = [
        [
            r.name or f"#{index}",
            r.start,
            r.end,
            r.count,
            f"{r.density:.6f}",
            r.smallest,
            r.largest,
            r.twin_pairs,
            r.max_gap,
            r.gap_after,
        ]
        for index, r in enumerate(result.ranges)
    ]
    headers = ["range", "start", "end", "primes", "density", "smallest", "largest", "twins"]
    lines.append(format_table([*headers, "max gap", "after"], rows))
    lines.append("")
    lines.append(
        f"execution: mode={result.mode} workers={result.workers} "
        f"segments={result.segments} elapsed={result.elapsed_s:.3f}s"
    )
    if result.primes_out is not None:
        lines.append(f"primes written to {result.primes_out}")
    return "\n".join(lines) + "\n"


def _num(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"
