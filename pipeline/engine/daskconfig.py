"""Dask's own configuration, checked once before a run: one line naming what is wrong.

Dask reads its YAML files (``DASK_CONFIG``, ``~/.config/dask``, ``/etc/dask``) and every
``DASK_*`` environment variable when ``dask.config`` is first imported. A malformed file raises
right there, a 32-line traceback before our CLI has started; a variable of the wrong kind
(``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=abc``) is accepted as a string and fails deep in
a worker, as a ``KeyError`` or dozens of log lines. :func:`check_dask_config` turns both into a
:class:`~pipeline.errors.ConfigurationError` (exit 2) before anything runs.

A ``DASK_DISTRIBUTED__*`` variable is checked against the kind of distributed's default for its
key: a switch (``true``, ``false``), a number (or ``false``), a duration (``"30s"``) or a size
(``"128MiB"``) must stay one. Only those keys reach a run (a local cluster or a client reads
them); the scheduler, its workers and its pool are set by :mod:`pipeline.engine.execution`
whatever ``DASK_SCHEDULER``, ``DASK_NUM_WORKERS`` or ``DASK_POOL`` say, and keys without a
default (or with a free-form one, like ``multiprocessing-method``) are not judged.

>>> check_dask_config({"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "10s"})
>>> try:
...     check_dask_config({"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "abc"})
... except ConfigurationError as exc:
...     print(str(exc).replace(" (", "\\n("))
DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT='abc' is not a duration
(Dask's default for distributed.comm.timeouts.connect is '30s')
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pipeline.errors import ConfigurationError

#: Variables that name files or carry Dask's own state rather than one setting.
_NOT_SETTINGS: Final = frozenset(
    {"DASK_CONFIG", "DASK_ROOT_CONFIG", "DASK_INTERNAL_INHERIT_CONFIG"}
)


def check_dask_config(environ: Mapping[str, str] | None = None) -> None:
    """Load Dask's configuration and check the ``DASK_*`` variables of ``environ``.

    Raises
    ------
    ConfigurationError
        A configuration file is malformed (not YAML, not a mapping), or a variable's value is not
        of the kind of Dask's default for its key. The message is one line naming the file or
        the variable.
    """
    environ = os.environ if environ is None else environ
    try:
        import dask.config
    except Exception as exc:  # whatever dask raised while reading its files
        raise _file_error(exc, environ) from None
    if "DASK_CONFIG" in environ:  # set after dask was imported (a notebook, a test): read it now
        try:
            list(dask.config.collect_yaml([environ["DASK_CONFIG"]]))
        except ValueError as exc:
            raise _file_error(exc, environ) from None
    for name, text in sorted(environ.items()):
        if name.startswith("DASK_") and name not in _NOT_SETTINGS:
            _check_variable(name, text)


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
    named = environ.get("DASK_CONFIG")
    file = Path(path.strip("'\""))
    where = "DASK_CONFIG: " if named and Path(named) in (file, file.parent) else ""
    return ConfigurationError(f"{where}Dask config file {path} is malformed: {detail}")


def _check_variable(name: str, text: str) -> None:
    from dask.config import interpret_value

    key = name.removeprefix("DASK_").lower().replace("__", ".")
    if not key.startswith("distributed."):
        return
    default = _default(key)
    if default is None:
        return
    value = interpret_value(text)
    kind = _kind(default)
    if kind is None or value is None or _is_kind(value, kind):
        return
    raise ConfigurationError(
        f"{name}={text!r} is not {kind} (Dask's default for {key} is {default!r})"
    )


def _kind(default: Any) -> str | None:
    """What a value of this key must be, judged from its default; None: anything goes."""
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int | float):
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
    if kind == "a number":  # False switches a memory threshold off
        return value is False or (isinstance(value, int | float) and not isinstance(value, bool))
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    try:
        (parse_timedelta if kind == "a duration" else parse_bytes)(value)
    except (KeyError, ValueError, TypeError):
        return False
    return True


def _default(key: str) -> Any:
    """distributed's default for a dotted key (``_`` and ``-`` alike), or None when it has none.

    The defaults are read from distributed's YAML file without importing distributed (about a
    second), which a local run does not need.
    """
    import dask.config

    spec = importlib.util.find_spec("distributed")
    if spec is None or spec.origin is None:
        return None
    defaults = str(Path(spec.origin).parent / "distributed.yaml")
    for tree in dask.config.collect_yaml([defaults]):
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
