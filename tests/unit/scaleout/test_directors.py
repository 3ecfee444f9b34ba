"""Several directors' configurations compared (scaleout/directors.py and ``pykeepalived check A B C``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykeepalived.cli import main
from pykeepalived.config.load import check_text
from pykeepalived.config.model import Config
from pykeepalived.scaleout.directors import Director, compare_directors

DIRECTOR = """\
virtual_servers:
  - ip: 203.0.113.200
    port: 80
    lb_algo: mh
    sched_flags: [mh-port]
    lb_kind: DR
    inhibit_on_failure: true
    real_servers:
      - {ip: 198.51.100.21, port: 80}
      - {ip: 198.51.100.22, port: 80}
      - {ip: 198.51.100.23, port: 80, weight: 2}
"""


def config(text: str) -> Config:
    result = check_text(text)
    assert result.config is not None, result.diagnostics
    return result.config


def compare(*texts: str) -> list[tuple[str, str, tuple[object, ...]]]:
    found = compare_directors([Director(f"d{i}.yaml", config(t)) for i, t in enumerate(texts, 1)])
    return [(d.file, d.code, d.path) for d in found]


def swapped(text: str) -> str:
    one, two = "198.51.100.21", "198.51.100.22"
    return text.replace(one, "X").replace(two, one).replace("X", two)


def test_identical_directors_agree() -> None:
    assert compare(DIRECTOR, DIRECTOR, DIRECTOR) == []


def test_real_servers_in_another_order() -> None:
    assert compare(DIRECTOR, DIRECTOR, swapped(DIRECTOR)) == [
        ("d3.yaml", "directors_real_server_order", ("virtual_servers", 0, "real_servers", 0))]


@pytest.mark.parametrize(("change", "code", "path"), [
    (("lb_algo: mh", "lb_algo: sh"), "directors_scheduler", ("virtual_servers", 0, "lb_algo")),
    (("sched_flags: [mh-port]", "sched_flags: []"), "directors_sched_flags",
     ("virtual_servers", 0, "sched_flags")),
    (("weight: 2", "weight: 3"), "directors_real_servers", ("virtual_servers", 0, "real_servers")),
    (("      - {ip: 198.51.100.22, port: 80}\n", ""), "directors_real_servers",
     ("virtual_servers", 0, "real_servers")),
])
def test_each_difference_that_changes_the_choice(change: tuple[str, str], code: str,
                                                 path: tuple[object, ...]) -> None:
    assert compare(DIRECTOR, DIRECTOR.replace(*change)) == [("d2.yaml", code, path)]


def test_a_virtual_server_only_some_directors_have() -> None:
    other = DIRECTOR.replace("port: 80\n    lb_algo", "port: 8080\n    lb_algo")
    found = compare_directors([Director("d1.yaml", config(DIRECTOR)), Director("d2.yaml", config(other))])
    assert {(d.file, d.code, d.severity.value) for d in found} == {
        ("d1.yaml", "directors_missing_virtual_server", "warning"),
        ("d2.yaml", "directors_missing_virtual_server", "warning")}
    assert "not configured on d2.yaml" in found[0].message


def test_the_message_names_both_sides() -> None:
    (found,) = compare_directors([Director("d1.yaml", config(DIRECTOR)),
                                  Director("d2.yaml", config(DIRECTOR.replace("weight: 2", "weight: 3")))])
    assert found.message == ("virtual server [203.0.113.200]:tcp:80: other real servers than on d1.yaml "
                             "(only here: 198.51.100.23 port 80 weight 3; "
                             "only on d1.yaml: 198.51.100.23 port 80 weight 2)")


def test_check_with_several_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = []
    for name, text in (("d1", DIRECTOR), ("d2", DIRECTOR), ("d3", swapped(DIRECTOR))):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        files.append(str(path))
    assert main(["check", *files[:2]]) == 0
    assert "2 directors' configurations are valid and consistent" in capsys.readouterr().out
    assert main(["check", *files]) == 1
    out = capsys.readouterr().out
    expected = f"{files[2]}:9:9: error: virtual server [203.0.113.200]:tcp:80: real server 1 is 198.51.100.22"
    assert expected in out
    assert "      - {ip: 198.51.100.22, port: 80}" in out and "[directors_real_server_order]" in out
    assert main(["check", "--format", "json", *files]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False and doc["diagnostics"][0]["line"] == 9
    broken = tmp_path / "broken.yaml"
    broken.write_text(DIRECTOR.replace("lb_kind: DR", "lb_kind: DRR"))
    assert main(["check", files[0], str(broken)]) == 1
    assert "[enum]" in capsys.readouterr().out
    assert main(["check", files[0], str(tmp_path / "missing.yaml")]) == 2
