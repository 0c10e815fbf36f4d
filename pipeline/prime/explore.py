"""The prime job's task graph, for looking at rather than running (notebooks, the dashboard).

:func:`prime_graph` builds exactly the graph :func:`pipeline.prime.job.run_prime` computes
(without ``--primes-out``), so a user can count its tasks, draw it with ``dask.visualize``,
persist it on a client or compute it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask

from pipeline.prime.graph import Plan, build_graph, plan
from pipeline.prime.ranges import load_ranges
from pipeline.prime.tuning import DEFAULT_SEGMENT_SIZE


@dataclass(frozen=True)
class PrimeGraph:
    """The delayed result of one ranges file: ``(per-range summaries, union summary)``."""

    result: Any
    plan: Plan

    @property
    def segments(self) -> int:
        """Sieve tasks in the graph."""
        return len(self.plan.tasks)

    @property
    def collections(self) -> list[Any]:
        """Every output of the graph, ready for ``dask.compute`` or ``dask.visualize``."""
        return [self.result]

    @property
    def task_count(self) -> int:
        """Tasks in the graph (sieve tasks and the reduction)."""
        return len(dict(self.result.__dask_graph__()))

    def visualize(self, filename: str | None = None, **kwargs: Any) -> Any:
        """Draw the graph with ``dask.visualize`` (needs the graphviz package and binary)."""
        return dask.visualize(self.result, filename=filename, **kwargs)


def prime_graph(path: str, segment_size: int = DEFAULT_SEGMENT_SIZE) -> PrimeGraph:
    """Build (without computing) the delayed graph for the ranges file at ``path``.

    >>> import json, tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     json.dump([[0, 99], [50, 149]], f)
    >>> graph = prime_graph(f.name, segment_size=50)
    >>> graph.segments, graph.task_count
    (3, 4)
    """
    job_plan = plan(load_ranges(path), segment_size)
    return PrimeGraph(build_graph(job_plan), job_plan)
