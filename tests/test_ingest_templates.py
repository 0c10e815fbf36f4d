"""Path templates (``pipeline.ingest.aggregate.templates``) against the plain per-path reference."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.ingest.aggregate.templates import template_paths
from tests.conftest import examples
from tests.test_ingest_reference import ref_template

#: Segments that hit each rule, near misses, placeholders written literally and empty ones.
SEGMENTS = (
    "", "api", "v1", "7", "42", "007", "0123456789abcdef", "0123456789ABCDEF0", "0123456789abcde",
    "123e4567-e89b-12d3-a456-426614174000", "123E4567-E89B-12D3-A456-426614174000",
    "123e4567-e89b-12d3-a456-42661417400", "12345678901234567", "x1", "1x", "{id}", "-", "1.5",
    "ü", "deadbeef",
)  # fmt: skip

paths = st.lists(
    st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6).map("/".join),
    min_size=0,
    max_size=40,
)


@settings(max_examples=examples(300), deadline=None)
@given(paths)
def test_templates_equal_the_per_path_reference(values: list[str]) -> None:
    # repeated paths and segments, adjacent ids ("/1/2"), leading and trailing slashes
    got = template_paths(pa.array(values, pa.string())).to_pylist()
    assert got == [ref_template(value) for value in values]


def test_template_keeps_the_array_type() -> None:
    large = pa.array(["/a/1", "/b"], pa.large_string())
    out = template_paths(large)
    assert out.type == pa.large_string()
    assert out.to_pylist() == ["/a/{id}", "/b"]


def test_templates_keep_nulls_in_a_sliced_array() -> None:
    values = ["/skip/1", None, "/a/12/b", "", None, "/u/0123456789abcdef0", "/c/d"]
    sliced = pa.array(values, pa.large_string()).slice(1)
    assert template_paths(sliced).to_pylist() == [
        None if value is None else ref_template(value) for value in values[1:]
    ]
