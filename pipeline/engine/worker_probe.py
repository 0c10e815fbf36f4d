"""What a worker can run: probed on remote workers before a job is sent to them.

This module imports nothing from ``pipeline``: it is pickled *by value* (cloudpickle) so that a
worker without this project installed can still run :func:`probe` and tell us what it lacks.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.resources
import sys
from typing import Any

#: Third-party modules our task functions import on workers.
REQUIRED_MODULES = (
    "dask",
    "distributed",
    "pandas",
    "numpy",
    "numba",
    "pyarrow",
    "ua_parser",
    "ua_parser_rs",
    "datasketches",
)


def source_digest(package: str = "pipeline") -> str | None:
    """SHA-256 over the package's ``.py`` sources (works for directories and zip imports)."""
    try:
        root = importlib.resources.files(package)
    except (ModuleNotFoundError, TypeError):
        return None
    digest = hashlib.sha256()
    stack = [("", root)]
    entries: list[tuple[str, bytes]] = []
    while stack:
        prefix, node = stack.pop()
        for child in node.iterdir():
            name = f"{prefix}/{child.name}" if prefix else child.name
            if child.is_dir():
                if child.name != "__pycache__":
                    stack.append((name, child))
            elif child.name.endswith(".py"):
                entries.append((name, child.read_bytes()))
    for name, data in sorted(entries):
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def probe() -> dict[str, Any]:
    """Python version, missing required modules and the digest of the ``pipeline`` it imports."""
    missing = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    return {
        "python": "{}.{}".format(*sys.version_info[:2]),
        "missing": missing,
        "pipeline_digest": source_digest("pipeline"),
    }
