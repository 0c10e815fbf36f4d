"""A job's task graph as plain calls, which the engine runs inline or hands to Dask.

Why: building a ``dask.delayed`` graph imports Dask (0.2-0.3 s), more than a trivial job's whole
work (``prime --range 0:100`` sieves for a millisecond). A job that describes its graph with
:func:`call` instead leaves the choice to :func:`pipeline.engine.execution.compute_calls`, the
one place that picks a scheduler: a graph whose calls can only run one after another (a
*chain*: one sieve task and the reduction of its result) gains nothing from a scheduler and runs
inline, as Dask's synchronous scheduler would run it, without importing Dask; any other graph
becomes the same ``dask.delayed`` graph the job used to build (:func:`to_delayed`), keys
included.

A call's arguments are plain values or other calls (only at the top level of ``args``, as
``dask.delayed`` would see them: a call inside a list is not one of its dependencies); the
function must be a picklable top-level function, as for any Dask task.

>>> def add(a, b):
...     return a + b
>>> total = call(add, call(add, 1, 2, name="inner"), 4, name="outer")
>>> is_chain([total]), run_inline([total])
(True, (7,))
>>> is_chain([call(add, call(add, 1, 2, name="a"), call(add, 3, 4, name="b"), name="sum")])
False
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class Call:
    """``function(*args)``, one task of a graph; an argument that is a :class:`Call` is the
    result of that call. ``name`` starts the task's Dask key (``NAME-<token of the args>``);
    ``nout`` is ``dask.delayed``'s: the number of outputs of a function returning a tuple."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    name: str
    nout: int | None = None

    @property
    def dependencies(self) -> tuple[Call, ...]:
        """The calls whose results this one takes, in argument order."""
        return tuple(arg for arg in self.args if isinstance(arg, Call))


def call(function: Callable[..., Any], *args: Any, name: str, nout: int | None = None) -> Call:
    """The task ``function(*args)``, keyed ``name-<token>`` when it goes to Dask."""
    return Call(function, args, name, nout)


def ordered(roots: Sequence[Call]) -> list[Call]:
    """Every call the roots need, each once, every call after its dependencies.

    Iterative (a graph of 10,000 tasks would pass Python's recursion limit); the order is that of
    a depth-first walk, dependencies in argument order, roots in the given order.
    """
    done: set[int] = set()
    order: list[Call] = []
    for root in roots:
        stack: list[tuple[Call, Iterator[Call]]] = []
        if id(root) not in done:
            done.add(id(root))
            stack.append((root, iter(root.dependencies)))
        while stack:
            current, pending = stack[-1]
            for dependency in pending:
                if id(dependency) not in done:
                    done.add(id(dependency))
                    stack.append((dependency, iter(dependency.dependencies)))
                    break
            else:
                stack.pop()
                order.append(current)
    return order


def is_chain(roots: Sequence[Call]) -> bool:
    """Whether the calls can only run one after another: each depends on the one before it.

    Such a graph (one task, or one task and a reduction of its result) has no two tasks that a
    scheduler could run at once. A graph with a path through every call has exactly one
    topological order, so checking that of :func:`ordered` is enough.
    """
    order = ordered(roots)
    return all(order[i] in order[i + 1].dependencies for i in range(len(order) - 1))


def run_inline(roots: Sequence[Call]) -> tuple[Any, ...]:
    """Compute the roots in this thread, every call once, dependencies first (what Dask's
    synchronous scheduler does with the equivalent graph)."""
    results: dict[int, Any] = {}
    for current in ordered(roots):
        args = [results[id(arg)] if isinstance(arg, Call) else arg for arg in current.args]
        results[id(current)] = current.function(*args)
    return tuple(results[id(root)] for root in roots)


def to_delayed(roots: Sequence[Call]) -> list[Any]:
    """The ``dask.delayed`` objects of the roots: one pure task per call, keyed
    ``name-<tokenize of its arguments>`` (a dependency counts by its key), so the same inputs
    give the same key and different ones never share it on a long-lived client."""
    import dask
    from dask.base import tokenize

    made: dict[int, Any] = {}
    for current in ordered(roots):
        args = [made[id(arg)] if isinstance(arg, Call) else arg for arg in current.args]
        token = tokenize(
            *[made[id(arg)].key if isinstance(arg, Call) else arg for arg in current.args]
        )
        made[id(current)] = dask.delayed(current.function, pure=True, nout=current.nout)(
            *args, dask_key_name=f"{current.name}-{token}"
        )
    return [made[id(root)] for root in roots]
