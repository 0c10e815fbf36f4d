"""The feature registry: what the CLI can run.

A feature is a name, a help line, a default input path, a ``run`` function and a text renderer.
``run(path, settings, **options)`` builds and computes the job and returns a result with
``to_dict()`` (see :class:`pipeline.reporting.text.JobResult`). Feature-specific options are
declared as plain :class:`FeatureOption` data, so the library stays free of click and the CLI turns
them into flags. Each built-in job registers itself in a ``feature`` module of its own (listed in
:data:`BUILTIN`, imported by name, so the registry depends on no job); third-party packages add
theirs through the entry-point group ``mini_orchestrator.features`` (the entry point names a
:class:`Feature` object, or a zero-argument callable returning one).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pipeline.engine.settings import ExecutionSettings
from pipeline.reporting.text import JobResult

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP: Final[str] = "mini_orchestrator.features"
#: Built-in features that register themselves in a module of their own (which defines
#: ``FEATURE``): ``get(name)`` imports only that module, so running one feature does not import
#: the others' dependencies.
BUILTIN: Final[dict[str, str]] = {
    "convert": "pipeline.ingest.convert.feature",
    "ingest": "pipeline.ingest.feature",
    "prime": "pipeline.prime.feature",
}


@dataclass(frozen=True)
class FeatureOption:
    """An extra option of one feature; the CLI exposes it as ``--name-with-dashes``.

    ``type`` is ``int``, ``float``, ``str`` or ``bool`` (a ``--flag/--no-flag`` switch), or a
    function from the typed text to the value that raises ``ValueError`` on bad input (e.g.
    :func:`pipeline.reporting.units.parse_size`).
    ``min`` bounds numeric values (inclusive); ``choices`` restricts a ``str``; ``multiple``
    makes the option repeatable (the run function receives a tuple). The run function still
    validates. ``output`` marks a ``str`` option that names a file the run writes: the CLI
    checks it with the report's ``--output`` before computing
    (see :func:`pipeline.reporting.outputs.check_outputs`). ``flag`` overrides the flag's spelling;
    ``replaces_path`` means the option is the input itself, so ``--path`` with it is an error.
    """

    name: str
    type: type | Callable[[Any], Any]
    default: Any
    help: str
    min: float | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    multiple: bool = False
    output: bool = False
    flag: str | None = None
    replaces_path: bool = False

    @property
    def cli_flag(self) -> str:
        """The flag the CLI shows: ``flag``, or ``--name-with-dashes``."""
        return self.flag or "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Feature:
    """A runnable job and how to present it."""

    name: str
    help: str
    default_path: Path
    run: Callable[..., JobResult]
    render_text: Callable[[Any], str]
    options: tuple[FeatureOption, ...] = ()
    examples: tuple[str, ...] = ()
    description: str = ""
    #: What ``--path`` names for this feature (its help text); empty: a generic text.
    path_help: str = ""
    #: ``render_html(result, context)`` -> a self-contained page (``--format html``); the
    #: context is a :class:`pipeline.reporting.page.PageContext`. None: the feature has no HTML
    #: report.
    render_html: Callable[[Any, Any], str] | None = None


@dataclass
class _Registry:
    features: dict[str, Feature] = field(default_factory=dict)
    loaded: bool = False


_REGISTRY = _Registry()


def register(feature: Feature, *, replace: bool = False) -> Feature:
    """Add a feature; registering an existing name again is an error unless ``replace``."""
    if feature.name in _REGISTRY.features and not replace:
        raise ValueError(f"feature {feature.name!r} is already registered")
    _REGISTRY.features[feature.name] = feature
    return feature


def unregister(name: str) -> None:
    """Remove a feature (used by tests that register a temporary one)."""
    _REGISTRY.features.pop(name, None)


def features() -> Mapping[str, Feature]:
    """Every registered feature, by name: ours first, then entry-point plugins."""
    _load_once()
    return dict(sorted(_REGISTRY.features.items()))


def get(name: str) -> Feature | None:
    """The feature called ``name``, or None."""
    if name in BUILTIN:
        _load_builtin(name)
        return _REGISTRY.features.get(name)
    return features().get(name)


def _load_builtin(name: str) -> None:
    """Import the module of a self-registering built-in feature; register its ``FEATURE`` again
    if the registry was reset after the module was imported (tests do that)."""
    module = importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY.features:
        register(module.FEATURE)


def _load_once() -> None:
    """Import the built-in features, then the plugins; marked loaded only when that worked,
    so a failed import raises again on the next call instead of leaving an empty registry."""
    if _REGISTRY.loaded:
        return
    for name in BUILTIN:
        _load_builtin(name)
    import importlib.metadata  # 40 ms: only for the list of every feature, not to run one

    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()
            feature = loaded if isinstance(loaded, Feature) else loaded()
            register(feature)
        except Exception as exc:  # a broken plugin must not break the CLI
            log.warning("cannot load feature plugin %r: %s", entry_point.name, exc)
    _REGISTRY.loaded = True


def run_feature(name: str, path: str | None, settings: ExecutionSettings, **options: Any) -> Any:
    """Run a registered feature by name, with its default path when ``path`` is None."""
    feature = get(name)
    if feature is None:
        raise KeyError(name)
    return feature.run(str(path if path is not None else feature.default_path), settings, **options)
