"""The registry: registration, lookup, and third-party features through entry points."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import registry
from pipeline.cli import cli
from tests.toy_feature import TOY_FEATURE


def test_register_twice_is_an_error(toy_feature: registry.Feature) -> None:
    with pytest.raises(ValueError, match="already registered"):
        registry.register(TOY_FEATURE)


def test_run_feature_uses_default_path(toy_feature: registry.Feature) -> None:
    from pipeline import ExecutionSettings

    result = registry.run_feature("toy", None, ExecutionSettings(mode="sync"))
    assert result.to_dict()["total"] == 28


@pytest.fixture
def plugin_on_path(tmp_path: Path) -> Iterator[str]:
    """A fake installed distribution exposing a feature through the entry-point group."""
    (tmp_path / "toyplugin.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import replace
            from tests.toy_feature import TOY_FEATURE

            def make_feature():
                return replace(TOY_FEATURE, name="plugged", help="A plugged-in feature.")
            """
        )
    )
    dist = tmp_path / "toyplugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[mini_orchestrator.features]\nplugged = toyplugin:make_feature\n"
    )
    sys.path.insert(0, str(tmp_path))
    registry._REGISTRY.loaded = False
    try:
        yield "plugged"
    finally:
        sys.path.remove(str(tmp_path))
        registry.unregister("plugged")
        sys.modules.pop("toyplugin", None)


def test_entry_point_feature_runs_through_the_cli(plugin_on_path: str) -> None:
    assert plugin_on_path in registry.features()
    result = CliRunner().invoke(cli, [plugin_on_path, "--mode", "sync"])
    assert result.exit_code == 0
    assert result.stdout == "toy total: 28 (4 chunks)\n"


def test_a_failed_import_of_the_builtin_features_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One failed import must not leave an empty registry for the rest of the process."""
    monkeypatch.setattr(registry, "_REGISTRY", registry._Registry())
    monkeypatch.setitem(sys.modules, "pipeline.ingest.feature", None)  # importing it raises
    with pytest.raises(ImportError):
        registry.features()
    monkeypatch.delitem(sys.modules, "pipeline.ingest.feature")  # importable again
    assert {"ingest", "prime"} <= set(registry.features())
