"""Diagnostic rendering (text with caret and hint, JSON) and pydantic-error mapping."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping

from pykeepalived.config.diagnostics import (
    Diagnostic,
    Severity,
    did_you_mean,
    render_json,
    render_one,
    render_text,
    summary,
)
from pykeepalived.config.load import check_text
from pykeepalived.config.validate import attach_sources


def test_text_rendering_has_location_code_source_caret_and_hint() -> None:
    d = Diagnostic(Severity.ERROR, "extra_forbidden", "unknown keyword 'priorty'", "a.yaml", 3, 5,
                   hint="did you mean 'priority'?", source_line="    priorty: 100")
    assert render_one(d) == (
        "a.yaml:3:5: error: unknown keyword 'priorty' [extra_forbidden]\n"
        "    priorty: 100\n"
        "    ^\n"
        "hint: did you mean 'priority'?"
    )


def test_caret_keeps_tabs_aligned() -> None:
    d = Diagnostic(Severity.WARNING, "c", "m", "a", 1, 3, source_line="\tx: y")
    assert render_one(d).splitlines()[2] == "\t ^"


def test_file_level_diagnostic_has_no_line() -> None:
    d = Diagnostic(Severity.ERROR, "file_not_found", "no such file", "a.yaml")
    assert render_one(d) == "a.yaml: error: no such file [file_not_found]"


def test_all_diagnostics_sorted_by_position_then_summary() -> None:
    late = Diagnostic(Severity.ERROR, "b", "late", "a", 9, 1)
    early = Diagnostic(Severity.WARNING, "a", "early", "a", 2, 1)
    other = Diagnostic(Severity.ERROR, "c", "middle", "a", 2, 7)
    lines = render_text([late, other, early]).splitlines()
    assert [line.split(": ")[2] for line in lines[:3]] == ["early [a]", "middle [c]", "late [b]"]
    assert lines[-1] == "2 errors, 1 warning"
    assert summary([]) == "0 errors, 0 warnings"


def test_json_has_the_same_fields() -> None:
    d = Diagnostic(Severity.ERROR, "x", "msg", "a.yaml", 1, 2, hint="h", path=("vrrp_instances", "V", 0))
    doc = json.loads(render_json("a.yaml", False, [d]))
    assert doc["valid"] is False and doc["errors"] == 1 and doc["warnings"] == 0
    assert doc["diagnostics"][0] == {"severity": "error", "code": "x", "message": "msg", "file": "a.yaml",
                                     "line": 1, "col": 2, "hint": "h", "source_line": None,
                                     "path": ["vrrp_instances", "V", 0]}


def test_did_you_mean() -> None:
    assert did_you_mean("priorty", ["priority", "state"]) == "did you mean 'priority'?"
    assert did_you_mean("zzz", ["priority"]) is None


def test_every_error_is_reported_not_just_the_first() -> None:
    result = check_text(
        "vrrp_instances:\n"
        "  A: {interface: eth0, virtual_router_id: 0, priorty: 1}\n"
        "  B: {interface: eth0, virtual_router_id: 2, priority: x}\n"
        "virtual_servers: [{ip: 203.0.113.1, port: 99999}]\n"
    )
    assert sorted(d.code for d in result.diagnostics) == [
        "extra_forbidden", "greater_than_equal", "int_type", "less_than_equal"]
    assert all(d.line is not None and d.source_line for d in result.diagnostics)


def test_reader_errors_and_model_errors_are_reported_together() -> None:
    result = check_text("vrrp_instances:\n"
                        "  A: {interface: eth0, virtual_router_id: 1, interface: eth1, x: 1}\n")
    assert sorted(d.code for d in result.diagnostics) == ["duplicate_key", "extra_forbidden"]


def test_missing_keyword_points_at_its_block() -> None:
    (d,) = check_text("vrrp_instances:\n  VI_1:\n    interface: eth0\n").diagnostics
    assert (d.code, d.line, d.col, d.message) == ("missing", 2, 3,
                                                   "missing required keyword 'virtual_router_id'")


def test_union_errors_are_merged_into_one_message() -> None:
    (d,) = check_text("vrrp_instances:\n  A: {interface: eth0, virtual_router_id: 1, use_vmac: 5,"
                      " no_virtual_ipaddress: true}\n").diagnostics
    assert d.message == "'use_vmac' should be a valid boolean or a valid string, got 5"


def test_alias_choices_conflict_names_both() -> None:
    result = check_text("virtual_servers: [{ip: 203.0.113.1, port: 80, lb_algo: rr, lvs_sched: wrr}]\n")
    (d,) = result.diagnostics
    assert d.code == "extra_forbidden"
    assert d.message == "'lvs_sched' is another name for 'lb_algo', which is already set"


class _CountingSources(Mapping[str, str]):
    """File texts that count how often each text is read (to index it into lines)."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.reads: Counter[str] = Counter()

    def __getitem__(self, name: str) -> str:
        self.reads[name] += 1
        return self.texts[name]

    def __contains__(self, name: object) -> bool:
        return name in self.texts

    def __iter__(self) -> Iterator[str]:
        return iter(self.texts)

    def __len__(self) -> int:
        return len(self.texts)


def test_source_lines_are_indexed_once_per_file_however_many_diagnostics() -> None:
    """5,000 diagnostics into two files read each file's text once (the cost is linear, not
    file size x diagnostics)."""
    sources = _CountingSources({"a.conf": "".join(f"line {i}\n" for i in range(1, 3001)),
                                "b.conf": "only\n"})
    diagnostics = [Diagnostic(Severity.WARNING, "w", "m", "a.conf", 1 + i % 3000) for i in range(5000)]
    diagnostics += [Diagnostic(Severity.WARNING, "w", "m", "b.conf", 1),
                    Diagnostic(Severity.WARNING, "w", "m", "b.conf", 2),  # past the end: left alone
                    Diagnostic(Severity.ERROR, "e", "m", "c.conf", 1)]  # not a known file
    out = attach_sources(diagnostics, sources)
    assert sources.reads == {"a.conf": 1, "b.conf": 1}
    assert [d.source_line for d in out[:3]] == ["line 1", "line 2", "line 3"]
    assert out[4999].source_line == f"line {1 + 4999 % 3000}"
    assert [d.source_line for d in out[5000:]] == ["only", None, None]


def test_every_warning_of_a_large_config_shows_its_own_line() -> None:
    servers = "".join(f"  - ip: 203.0.113.1\n    port: {1000 + v}\n    delay_loop: 1\n    real_servers:\n"
                      f"      - ip: 198.51.100.{10 + v}\n        port: 80\n        TCP_CHECK:\n"
                      "          connect_timeout: 2\n" for v in range(200))
    result = check_text("virtual_servers:\n" + servers)
    timing = [d for d in result.diagnostics if d.code == "checker_timing"]
    assert len(timing) == 200
    assert all(d.source_line is not None and "TCP_CHECK" in d.source_line for d in timing)
    assert len({d.line for d in timing}) == 200
