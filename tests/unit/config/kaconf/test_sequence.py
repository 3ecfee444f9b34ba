"""keepalived.conf's ``~SEQ``/``~SEQx``/``~LST`` line repetition and ``include_check`` (and ``-e``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.config.kaconf import parse
from pykeepalived.config.kaconf.preprocess import Limits, preprocess
from pykeepalived.config.kaconf.sequence import SequenceError, Spec, bindings
from pykeepalived.config.kaconf.sequence import parse as parse_specs


def words(tmp_path: Path, text: str, **kwargs: object) -> tuple[list[str], list[tuple[str, str, int]]]:
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    result = preprocess(conf, config_id="lb1", **kwargs)  # type: ignore[arg-type]
    return ([" ".join(t.text for t in line) for line in result.lines],
            [(i.severity.value, i.code, i.pos.line) for i in result.issues])


def no_vars(text: str) -> str:
    return text


@pytest.mark.parametrize(("spec", "values"), [
    ("~SEQ(N, 3)", ["1", "2", "3"]),
    ("~SEQ(N, -2)", ["-1", "-2"]),
    ("~SEQ(N, 0, 3)", ["0", "1", "2", "3"]),
    ("~SEQ(N, 3, 1)", ["3", "2", "1"]),
    ("~SEQ(N, 0, 2, 5)", ["0", "2", "4"]),
    ("~SEQ(N, 10, -5, 0)", ["10", "5", "0"]),
    ("~SEQx(N, 144, 16, 192)", ["90", "a0", "b0", "c0"]),
    ("~SEQx(N, 0x90, 0x10, 0xc0)", ["90", "a0", "b0", "c0"]),
    ("~SEQ(N, 010, 011)", ["8", "9"]),
    ("~LST(N, a, b, c)", ["a", "b", "c"]),
])
def test_one_spec(spec: str, values: list[str]) -> None:
    parsed = parse_specs(f"{spec} rest", no_vars, 1000)
    assert parsed is not None
    specs, offset = parsed
    assert [b["N"] for b in bindings(specs)] == values
    assert f"{spec} rest"[offset:].strip() == "rest"


def test_several_specs_nest_the_first_outermost() -> None:
    parsed = parse_specs("~LST({IP, IP1}, {10,1},{20,4}) ~SEQ(IP2,168,2,170) x", no_vars, 1000)
    assert parsed is not None
    got = [f"192.{b['IP2']}.{b['IP']}.{b['IP1']}" for b in bindings(parsed[0])]
    assert got == ["192.168.10.1", "192.170.10.1", "192.168.20.4", "192.170.20.4"]


@pytest.mark.parametrize(("text", "why"), [
    ("~SEQ(N, 1, 0, 3) x", "step 0"),
    ("~SEQ(N, 1, -1, 3) x", "does not lead"),
    ("~SEQ(N, a) x", "not a number"),
    ("~SEQ(N) x", "1 to 3 numbers"),
    ("~SEQx(N, -1, 3) x", "not negative"),
    ("~SEQ(1N, 3) x", "not a variable"),
    ("~LST({A,B}, {1}) x", "1 values for 2"),
    ("~LST(A) x", "at least one value"),
    ("~SEQ(N, 3 x", "no closing"),
    ("~SEQ(N, 0, 100000) x", "limit"),
    ("~SEQ(A, 400) ~SEQ(B, 400) x", "limit"),
])
def test_bad_specs_say_why(text: str, why: str) -> None:
    with pytest.raises(SequenceError, match=why):
        parse_specs(text, no_vars, 10_000)


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=3))
def test_sequences_run_from_start_towards_end_and_never_past_it(numbers: list[int]) -> None:
    spec = f"~SEQ(N, {', '.join(map(str, numbers))}) x"
    try:
        parsed = parse_specs(spec, no_vars, 10_000)
    except SequenceError:
        return
    assert parsed is not None
    values = [int(b["N"]) for b in bindings(parsed[0])]
    end = numbers[-1]
    assert all(v <= end for v in values) or all(v >= end for v in values)
    assert len(values) == len(set(values))


def test_repeated_lines_are_read_with_the_variable_set(tmp_path: Path) -> None:
    lines, issues = words(tmp_path, "$P=198.51\n  ~SEQ(N, 1, 2) ip ${P}.100.${N} $N\nafter ${N}\n")
    assert lines == ["ip 198.51.100.1 1", "ip 198.51.100.2 2", "after ${N}"]
    assert issues == [("warning", "undefined_variable", 3)]  # the variable does not outlive its line


def test_a_spec_can_use_a_parameter_and_repeat_a_block(tmp_path: Path) -> None:
    text = ("$LAST=3\n~SEQ(I, 2, $LAST) vrrp_instance VI_${I} { interface eth0 virtual_router_id 5${I}"
            " virtual_ipaddress { 203.0.113.${I} } }\n")
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    result = parse(conf, config_id="lb1")
    assert result.diagnostics == []
    assert result.data is not None
    assert {name: i["virtual_router_id"] for name, i in result.data["vrrp_instances"].items()} == {
        "VI_2": 52, "VI_3": 53}
    position = result.positions.key(("vrrp_instances", "VI_3"))
    assert position is not None and (position.line, position.col) == (2, 19)


def test_an_invalid_spec_is_an_error_at_the_line(tmp_path: Path) -> None:
    lines, issues = words(tmp_path, "a 1\n~SEQ(N, 1, 0, 3) b\nc 2\n")
    assert lines == ["a 1", "c 2"]
    assert issues == [("error", "sequence", 2)]


def test_repetitions_are_bounded_in_total(tmp_path: Path) -> None:
    text = "".join(f"~SEQ(N{i}, 1, 40) x\n" for i in range(12))
    lines, issues = words(tmp_path, text, limits=Limits(max_repetitions=50))
    assert len(lines) == 40 * 12 and issues == []
    lines, issues = words(tmp_path, text + "~SEQ(Z, 1, 40) y\n~SEQ(Z, 1, 40) y\n",
                          limits=Limits(max_repetitions=50))
    assert ("error", "sequence", 14) in issues and len(lines) <= 500


def test_spec_values_can_be_empty_strings() -> None:
    assert list(bindings([Spec(("A",), (("",), ("x",)))])) == [{"A": ""}, {"A": "x"}]


# -- include_check / -e ------------------------------------------------------------------------------


def test_include_check_turns_a_missing_include_into_an_error_for_what_follows(tmp_path: Path) -> None:
    (tmp_path / "sub.conf").write_text("include nothing_here.conf\n")
    text = ("include missing.conf\nglobal_defs {\n include_check\n}\ninclude missing.conf\n"
            "include no_match_*.conf\ninclude sub.conf\n")
    lines, issues = words(tmp_path, text)
    assert issues == [("warning", "include_no_match", 1), ("error", "include_no_match", 5),
                      ("error", "include_no_match", 6), ("error", "include_no_match", 1)]
    assert ["include_check"] in [line.split() for line in lines]


def test_include_check_options(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("x 1\n")
    text = ("include_check match\ninclude none_*.conf\ninclude none.conf\n"
            "include_check +brace_match\ninclude {a,b}.conf\ninclude_check -match -brace_match\n"
            "include none.conf\nincludew none_*.conf\n")
    _, issues = words(tmp_path, text)
    assert issues == [("warning", "include_no_match", 2), ("error", "include_no_match", 3),
                      ("error", "include_no_match", 5), ("warning", "include_no_match", 7),
                      ("error", "include_no_match", 8)]


def test_an_included_file_cannot_change_the_includers_checks(tmp_path: Path) -> None:
    (tmp_path / "inner.conf").write_text("include_check\ninclude none1.conf\n")
    _, issues = words(tmp_path, "include inner.conf\ninclude none2.conf\n")
    assert issues == [("error", "include_no_match", 2), ("warning", "include_no_match", 2)]


def test_all_config_is_include_check_from_the_start(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("include none.conf\nvrrp_instance V { interface eth0 virtual_router_id 1 }\n")
    assert [d.severity.value for d in parse(conf, config_id="x").diagnostics] == ["warning"]
    assert [d.severity.value for d in parse(conf, config_id="x", all_config=True).diagnostics] == ["error"]
