"""The YAML reader: positions, duplicate keys, YAML 1.1 booleans, bombs and garbage, limits."""

from __future__ import annotations

import pytest

from pykeepalived.config.source import Limits, Position, PositionMap, decode_bytes, load_yaml


def codes(text: str, limits: Limits | None = None) -> list[str]:
    return [d.code for d in load_yaml(text, "f.yaml", limits or Limits()).diagnostics]


def test_positions_are_one_based_for_keys_and_values() -> None:
    result = load_yaml("a:\n  b: [1, x]\n", "f.yaml")
    assert result.data == {"a": {"b": [1, "x"]}}
    p = result.positions
    assert p.key(("a",)) == Position("f.yaml", 1, 1)
    assert p.key(("a", "b")) == Position("f.yaml", 2, 3)
    assert p.value(("a", "b")) == Position("f.yaml", 2, 6)
    assert p.value(("a", "b", 1)) == Position("f.yaml", 2, 10)


def test_locate_falls_back_to_the_nearest_ancestor() -> None:
    p = load_yaml("a:\n  b: 1\n", "f.yaml").positions
    assert p.locate(("a", "b", "missing", 3)) == Position("f.yaml", 2, 6)
    assert p.locate(("a", "b", "missing"), prefer_key=True) == Position("f.yaml", 2, 3)
    assert PositionMap().locate(("x",)) is None


def test_duplicate_keys_are_reported_with_both_positions() -> None:
    result = load_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    (d,) = result.diagnostics
    assert (d.code, d.line, d.col) == ("duplicate_key", 3, 1)
    assert "line 1, column 1" in d.message
    assert result.data == {"a": 1, "b": 2}  # the first one is kept, never silently the last


def test_yaml_11_booleans_are_noted_for_messages() -> None:
    result = load_yaml("a: no\nb: on\nc: true\nd: 'no'\n", "f.yaml")
    assert result.data == {"a": False, "b": True, "c": True, "d": "no"}
    assert result.positions.raw(("a",)) == "no"
    assert result.positions.raw(("b",)) == "on"
    assert result.positions.raw(("c",)) is None
    assert result.positions.raw(("d",)) is None


@pytest.mark.parametrize(("text", "code"), [
    ("on: 1\n", "key_type"),
    ("1: 1\n", "key_type"),
    ("[a]: 1\n", "key_type"),
    ("a: !python/object x\n", "yaml_tag"),
    ("a: !!set {x}\n", "yaml_tag"),
    ("a: [1\n", "yaml_syntax"),
    ("a: 1\n---\nb: 2\n", "yaml_syntax"),
    ("a: *nope\n", "yaml_syntax"),
    ("", "empty_config"),
    ("# only a comment\n", "empty_config"),
    ("- a\n", "top_level_type"),
    ("just a string\n", "top_level_type"),
    ("a: &x [*x]\n", "yaml_alias"),
    ("a: &x {<<: *x}\n", "yaml_alias"),
    ("a: {<<: 5}\n", "yaml_merge"),
])
def test_bad_documents_give_one_clear_diagnostic(text: str, code: str) -> None:
    assert code in codes(text)


def test_alias_bomb_is_refused_quickly() -> None:
    text = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n'
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        text += f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]\n"
    assert codes(text, Limits(max_alias_nodes=1000)) == ["yaml_alias"]


def test_aliases_within_the_budget_are_expanded() -> None:
    result = load_yaml("x-d: &d {interface: eth0}\nb: *d\nc: *d\n", "f.yaml")
    assert result.diagnostics == []
    assert result.data["b"] == result.data["c"] == {"interface": "eth0"}


def test_merge_keys_merge_with_explicit_keys_winning() -> None:
    result = load_yaml("x: &d {a: 1, b: 2}\ny: &e {c: 3}\nz:\n  b: 9\n  <<: [*d, *e]\n", "f.yaml")
    assert result.diagnostics == []
    assert result.data["z"] == {"a": 1, "b": 9, "c": 3}


def test_depth_and_node_limits() -> None:
    assert codes("a: {b: {c: {d: 1}}}\n", Limits(max_depth=3)) == ["too_deep"]
    assert codes("a: {b: {c: 1}}\n", Limits(max_depth=3)) == []
    assert "too_deep" in codes("a: " + "[" * 70 + "]" * 70 + "\n")
    assert "too_large" in codes("a: [1, 2, 3, 4, 5]\n", Limits(max_nodes=4))


def test_libyaml_nesting_limit_is_a_diagnostic() -> None:
    assert codes("a: " + "[" * 5000 + "]" * 5000) in (["yaml_syntax"], ["too_deep"])


def test_decode_refuses_big_binary_and_non_utf8() -> None:
    _, diags = decode_bytes(b"a: 1\n" * 100, "f", Limits(max_bytes=50))
    assert diags[0].code == "file_too_large"
    _, diags = decode_bytes(b"a: 1\nb: \x00\n", "f")
    assert (diags[0].code, diags[0].line, diags[0].col) == ("binary_file", 2, 4)
    _, diags = decode_bytes(b"a: 1\nb: caf\xe9\n", "f")
    assert (diags[0].code, diags[0].line, diags[0].col) == ("encoding", 2, 7)


def test_decode_strips_a_bom() -> None:
    text, diags = decode_bytes("\ufeffa: 1\n".encode(), "f")
    assert text == "a: 1\n" and diags == []


def test_control_characters_are_a_syntax_error_with_position() -> None:
    (d,) = load_yaml("a: 1\nb: x\x07y\n", "f.yaml").diagnostics
    assert (d.code, d.line, d.col) == ("yaml_syntax", 2, 5)


def test_timestamps_and_binary_stay_text() -> None:
    assert load_yaml("a: 2026-01-01\nb: !!binary aGk=\n", "f").data == {"a": "2026-01-01", "b": "aGk="}


def test_repeated_scalars_each_keep_their_own_position_and_raw_text() -> None:
    # strings and numbers seen before take the reader's short cut: same values, same positions
    result = load_yaml("a: [x, x, 1, 1, no, no, ~, ~]\nb: {k: x, n: 1}\n", "f.yaml")
    assert result.data == {"a": ["x", "x", 1, 1, False, False, None, None], "b": {"k": "x", "n": 1}}
    p = result.positions
    columns = (5, 8, 11, 14, 17, 21, 25, 28)
    assert [p.value(("a", i)) for i in range(8)] == [Position("f.yaml", 1, c) for c in columns]
    assert (p.raw(("a", 4)), p.raw(("a", 5))) == ("no", "no")
    assert (p.key(("b", "n")), p.value(("b", "n"))) == (Position("f.yaml", 2, 11), Position("f.yaml", 2, 14))


def test_strings_count_against_the_node_and_alias_limits() -> None:
    assert "too_large" in codes("a: [x, y, z, w, v]\n", Limits(max_nodes=4))
    assert codes("a: [x, y, z]\n", Limits(max_nodes=5)) == []  # the document, the list, three strings
    aliased = "a: &l [x, y, z]\nb: [*l, *l, *l]\n"  # each alias: the list and its three strings
    assert codes(aliased, Limits(max_alias_nodes=11)) == ["yaml_alias"]
    assert codes(aliased, Limits(max_alias_nodes=12)) == []
    assert "too_deep" in codes("a: {b: {c: x}}\n", Limits(max_depth=2))
