"""The YAML walk without visit tracking reads exactly what the full walk reads.

A document without ``&`` has no anchor, so no node is reached twice: ``load_yaml`` then walks it
without the alias and recursion bookkeeping (the walker's ``walk_tree``), and falls back to the full
walk at a merge key.  The oracle is the full walk itself: the same text with a trailing ``# &`` comment
has the same nodes and takes the full walk.  Data, every position and every diagnostic must agree.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.source import Limits, SourceResult, load_yaml
from pykeepalived.testing.positions import placed

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
SAMPLES = sorted((REPO / "tests" / "golden" / "configs").glob("**/*.yaml")) + sorted(
    (REPO / "etc").glob("**/*.yaml"))


def assert_same_reading(text: str, limits: Limits | None = None) -> None:
    fast = load_yaml(text, "f.yaml", limits or Limits())
    full = load_yaml(text + "\n# &\n", "f.yaml", limits or Limits())
    if [d.code for d in full.diagnostics] == ["yaml_syntax"] and full.data is None:
        # not composed, so not walked (the comment moves an error at the end of the text)
        assert [d.code for d in fast.diagnostics] == ["yaml_syntax"] and fast.data is None
        return
    assert fast.data == full.data
    assert placed(fast.positions, fast.data) == placed(full.positions, full.data)
    assert _diagnostics(fast) == _diagnostics(full)


def _diagnostics(result: SourceResult) -> list[tuple[object, ...]]:
    return [(d.severity, d.code, d.message, d.file, d.line, d.col, d.hint, d.path)
            for d in result.diagnostics]


def test_every_sample_reads_the_same_with_both_walks() -> None:
    assert SAMPLES
    for sample in SAMPLES:
        text = sample.read_text(encoding="utf-8", errors="replace")
        if "&" not in text:
            assert_same_reading(text)


_KEYS = ["a", "b", "vrrp_instances", "priority", "yes", "1", "1.5", "null", "~", "<<", "? x", "'q'", "[1, 2]",
         "{c: 1}", "!!str s", "!!int 3", "!foo t"]
_SCALARS = ["1", "0x10", "1.5", ".inf", "yes", "No", "on", "true", "null", "~", "", "x", "'quoted'",
            '"d q"', "2001-01-01", "!!binary aGk=", "!!str 1", "!!float 1", "!custom x", "[]", "{}", "[1, a]",
            "{a: 1, a: 2}", "|\n  block"]


@st.composite
def _node(draw: st.DrawFn, indent: int, depth: int) -> str:
    """A block mapping or sequence at ``indent`` (or a scalar after a key)."""
    pad = " " * indent
    lines: list[str] = []
    kind = draw(st.sampled_from(["map", "seq"]))
    for _ in range(draw(st.integers(1, 4))):
        nested = depth < 3 and draw(st.booleans())
        head = f"{pad}{draw(st.sampled_from(_KEYS))}:" if kind == "map" else f"{pad}-"
        if nested:
            lines.append(head)
            lines.append(draw(_node(indent + 2, depth + 1)))
        else:
            lines.append(f"{head} {draw(st.sampled_from(_SCALARS))}")
    return "\n".join(lines)


@settings(max_examples=300)
@given(_node(0, 0))
def test_random_documents_read_the_same_with_both_walks(text: str) -> None:
    assert_same_reading(text)


@given(_node(0, 0), st.integers(1, 40), st.integers(1, 4))
def test_the_limits_stop_both_walks_at_the_same_place(text: str, max_nodes: int, max_depth: int) -> None:
    assert_same_reading(text, Limits(max_nodes=max_nodes, max_depth=max_depth))


_SCALARS = ["1", "01", "007", "+1", "1.5", "1e3", ".inf", "0x1F", "yes", "no", "on", "off", "true", "null",
            "~", "x", "eth0", "'1'", '"yes"', "'null'", '"1.5"', "203.0.113.1"]


@given(st.lists(st.sampled_from(_SCALARS), min_size=1, max_size=30))
def test_the_memoized_tag_resolver_reads_each_scalar_as_pyyaml_does(values: list[str]) -> None:
    """The reader resolves a plain scalar's tag once per distinct text: the same text quoted, or
    repeated, must still read as PyYAML's own safe loader reads it."""
    text = "".join(f"k{i}: {value}\n" for i, value in enumerate(values))
    assert load_yaml(text, "t.yaml", Limits()).data == yaml.safe_load(text)
