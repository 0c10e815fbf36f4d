"""Shared fixtures: a temporary feature registered for CLI tests, and the repository root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import registry
from tests.toy_feature import TOY_FEATURE

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Real dask.distributed processes (scheduler and workers) for the distributed tests.
pytest_plugins = ["tests.cluster_fixtures"]


@pytest.fixture
def toy_feature() -> Iterator[registry.Feature]:
    """Register the ``toy`` feature for one test (see tests/toy_feature.py)."""
    registry.register(TOY_FEATURE, replace=True)
    try:
        yield TOY_FEATURE
    finally:
        registry.unregister(TOY_FEATURE.name)
