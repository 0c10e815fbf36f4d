"""Dask's own configuration, checked once before a run: one line naming what is wrong.

Dask reads its YAML files (``DASK_CONFIG``, ``~/.config/dask``, ``/etc/dask``) and every
``DASK_*`` environment variable when ``dask.config`` is first imported. A malformed file raises
right there, a 32-line traceback before our CLI has started; a variable of the wrong kind
(``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=abc``) is accepted as a string and fails deep in
a worker, as a ``KeyError`` or dozens of log lines. :func:`check_dask_config` turns both into a
:class:`~pipeline.errors.ConfigurationError` (exit 2) before anything runs.

A ``DASK_DISTRIBUTED__*`` variable, and a ``distributed:`` value in a file, is checked against
the kind of distributed's default for its key: a switch (``true``, ``false``), a number (or
``false``), a duration (``"30s"``) or a size (``"128MiB"``) must stay one. Only those keys reach
a run (a local cluster or a client reads them); the scheduler, its workers and its pool are set by
:mod:`pipeline.engine.execution` whatever ``DASK_SCHEDULER``, ``DASK_NUM_WORKERS`` or
``DASK_POOL`` say, and keys without a default (or with a free-form one, like
``multiprocessing-method``) are not judged.

With no ``DASK_*`` variable set and none of Dask's configuration paths present
(:func:`config_paths`, looked at without importing Dask) there is nothing to check, and nothing is
imported: a run that computes inline (``prime --range 0:100``) never imports Dask at all.

>>> check_dask_config({"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "10s"})
>>> try:
...     check_dask_config({"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "abc"})
... except ConfigurationError as exc:
...     print(str(exc).replace(" (", "\\n("))
DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT='abc' is not a duration
(Dask's default for distributed.comm.timeouts.connect is '30s')
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import site
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from pipeline.errors import ConfigurationError

#: Variables that name files or carry Dask's own state rather than one setting.
_NOT_SETTINGS: Final = frozenset(
    {"DASK_CONFIG", "DASK_ROOT_CONFIG", "DASK_INTERNAL_INHERIT_CONFIG"}
)


def check_dask_config(environ: Mapping[str, str] | None = None) -> None:
    """Load Dask's configuration and check its files and the ``DASK_*`` variables of ``environ``.

    Raises
    ------
    ConfigurationError
        A configuration file is malformed (not YAML, not a mapping), or a value of a variable or
        a file is not of the kind of distributed's default for its key. The message is one line
        naming the file or the variable.
    """
    environ = os.environ if environ is None else environ
    if "dask" not in sys.modules and not _anything_to_check(environ):
        return
    try:
        import dask.config
    except Exception as exc:  # whatever dask raised while reading its files
        raise _file_error(exc, environ) from None
    # DASK_CONFIG may have been set after dask was imported (a notebook, a test): read it too
    paths = [*dask.config.paths, *([environ["DASK_CONFIG"]] if "DASK_CONFIG" in environ else [])]
    try:
        files = list(dask.config.collect_yaml(paths, return_paths=True))
    except ValueError as exc:
        raise _file_error(exc, environ) from None
    for path, tree in files:
        for key, value in _leaves(tree, ""):
            problem = _problem(key, value)
            if problem is not None:
                where = _named_by_config(str(path), environ)
                raise ConfigurationError(
                    f"{where}Dask config file '{path}': {key}: {value!r} {problem}"
                )
    for name, text in sorted(environ.items()):
        if name.startswith("DASK_") and name not in _NOT_SETTINGS:
            key = name.removeprefix("DASK_").lower().replace("__", ".")
            problem = _problem(key, dask.config.interpret_value(text))
            if problem is not None:
                raise ConfigurationError(f"{name}={text!r} {problem}")


def config_paths(environ: Mapping[str, str]) -> list[str]:
    """The files and directories Dask reads its configuration from, in its order, as
    ``dask.config.paths`` lists them for ``environ`` (computed here without importing Dask;
    tests compare the two)."""
    paths = [
        environ.get("DASK_ROOT_CONFIG", "/etc/dask"),
        os.path.join(sys.prefix, "etc", "dask"),
        *[os.path.join(prefix, "etc", "dask") for prefix in site.PREFIXES],
        os.path.join(os.path.expanduser("~"), ".config", "dask"),
    ]
    if "DASK_CONFIG" in environ:
        paths.append(environ["DASK_CONFIG"])
    return list(reversed(list(dict.fromkeys(reversed(paths)))))  # duplicates: the last one kept


def _anything_to_check(environ: Mapping[str, str]) -> bool:
    """Whether a ``DASK_*`` variable is set or one of Dask's configuration paths exists."""
    return any(name.startswith("DASK_") for name in environ) or any(
        os.path.exists(path) for path in config_paths(environ)
    )


def _leaves(tree: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    """``(dotted key, value)`` of every leaf of a configuration file's mapping."""
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _leaves(value, f"{key}.")
        else:
            yield key, value


def _named_by_config(path: str, environ: Mapping[str, str]) -> str:
    """``"DASK_CONFIG: "`` when that variable names the file or its directory, else ``""``."""
    named, file = environ.get("DASK_CONFIG"), Path(path)
    return "DASK_CONFIG: " if named and Path(named) in (file, file.parent) else ""


def _file_error(exc: Exception, environ: Mapping[str, str]) -> ConfigurationError:
    """One line from dask's "A dask config file at PATH is malformed ..." (several lines)."""
    text = str(exc)
    found = re.match(r"A dask config file at (.+?) is malformed", text)
    if found is None:
        first = text.splitlines()[0] if text else ""
        return ConfigurationError(f"Dask's configuration cannot be loaded: {first}")
    path = found.group(1)
    cause = exc.__context__  # dask raises ``from None``: the YAML error is still here
    problem, mark = getattr(cause, "problem", None), getattr(cause, "problem_mark", None)
    if problem is not None and mark is not None:
        detail = f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    elif cause is not None:
        detail = str(cause).splitlines()[0]
    else:
        detail = text[found.end() :].lstrip(" -,")
    where = _named_by_config(path.strip("'\""), environ)
    return ConfigurationError(f"{where}Dask config file {path} is malformed: {detail}")


def _problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the dotted ``key``, or None when nothing is."""
    if not key.startswith("distributed."):
        return None
    default = _default(key)
    kind = None if default is None else _kind(default)
    if kind is None or value is None or _is_kind(value, kind):
        return None
    return f"is not {kind} (Dask's default for {key} is {default!r})"


def _kind(default: Any) -> str | None:
    """What a value of this key must be, judged from its default; None: anything goes.

    A default of ``False`` says "off", and such keys take other kinds when on (``max-spill``
    takes a size, ``compression`` a codec name): they are not judged.
    """
    if default is True:
        return "true or false"
    if isinstance(default, int | float) and not isinstance(default, bool):
        return "a number"
    if isinstance(default, str):
        for kind in ("a duration", "a size"):
            if _is_kind(default, kind):
                return kind
    return None


def _is_kind(value: Any, kind: str) -> bool:
    from dask.utils import parse_bytes, parse_timedelta

    if kind == "true or false":
        return isinstance(value, bool)
    if value is False:  # switches a threshold, a timeout or a size off
        return True
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    convert = {"a number": float, "a duration": parse_timedelta, "a size": parse_bytes}[kind]
    try:
        convert(value)  # a number may be written "inf" (worker-saturation)
    except (KeyError, ValueError, TypeError):
        return False
    return True


@functools.cache
def _distributed_defaults() -> tuple[dict[str, Any], ...]:
    import dask.config

    spec = importlib.util.find_spec("distributed")
    if spec is None or spec.origin is None:
        return ()
    return tuple(dask.config.collect_yaml([str(Path(spec.origin).parent / "distributed.yaml")]))


def _default(key: str) -> Any:
    """distributed's default for a dotted key (``_`` and ``-`` alike), or None when it has none.

    The defaults are read from distributed's YAML file without importing distributed (about a
    second), which a local run does not need.
    """
    for tree in _distributed_defaults():
        value: Any = tree
        for part in key.split("."):
            if not isinstance(value, dict):
                break
            value = next(
                (v for k, v in value.items() if k.replace("_", "-") == part.replace("_", "-")),
                None,
            )
        else:
            if value is not None:
                return value
    return None
