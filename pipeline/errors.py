"""Domain exceptions raised by the library.

The library never imports click: it raises these, and ``cli.py`` maps them to exit codes in one
place (``InputError`` -> 2, anything else -> 1). A run that completed but could not read some of its
inputs does not raise; its result lists them in ``failed_inputs`` and the CLI exits with 3.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(PipelineError):
    """The user's input cannot be used: a missing path, an invalid file, an out-of-range value.

    The message is one line that names the problem and the offending input.
    """


class ConfigurationError(InputError):
    """An execution setting is invalid (unknown mode, workers < 1, unreachable scheduler...)."""


class OutputError(InputError):
    """An output cannot be written, or must not be (it is one of the inputs).

    Exit code 2, like every :class:`InputError`, and it wins over "some inputs failed" (3): a
    report that did not reach its file is the more urgent news.
    """


class StateError(InputError):
    """An ``ingest --state`` file cannot be used: truncated, corrupt, written by another codec
    or state version or report schema, not a state at all, written with other options, or in
    use by another run.

    Exit code 2, like every :class:`InputError`: the user's file is at fault, and it is never
    silently reset. The message is one short line.
    """
