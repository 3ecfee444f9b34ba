"""``include:`` at the top of a YAML file: a keepalived.conf as the base, pykeepalived sections beside it."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.load import check_config, load_config

KEEPALIVED_CONF = """\
global_defs {
    router_id lb1
}
virtual_server 203.0.113.200 80 {
    lb_algo mh
    mh-port
    lb_kind DR
    inhibit_on_failure
    real_server 198.51.100.21 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
"""

BGP = """\
include: keepalived.conf
bgp:
  asn: 65001
  router_id: 198.51.100.11
  neighbors: [{address: 198.51.100.1, remote_as: 65000}]
  announce: [{address: 203.0.113.200}]
"""


def write(tmp_path: Path, yaml_text: str, conf: str = KEEPALIVED_CONF) -> Path:
    (tmp_path / "keepalived.conf").write_text(conf)
    path = tmp_path / "pykeepalived.yaml"
    path.write_text(yaml_text)
    return path


def test_the_keepalived_conf_is_the_base_and_bgp_is_added(tmp_path: Path) -> None:
    config = load_config(str(write(tmp_path, BGP)), config_id="lb1")
    assert config.global_defs.router_id == "lb1"
    assert [vs.key for vs in config.virtual_servers] == ["[203.0.113.200]:tcp:80"]
    assert config.bgp is not None and config.bgp.asn == 65001


def test_diagnostics_point_into_the_file_they_are_about(tmp_path: Path) -> None:
    conf = KEEPALIVED_CONF.replace("lb_algo mh", "lb_algo rr")
    result = check_config(str(write(tmp_path, BGP, conf)), config_id="lb1")
    # mh-port without mh: in keepalived.conf; rr behind ECMP: at the announcement, in the YAML file
    assert [(Path(d.file).name, d.line, d.code) for d in result.warnings] == [
        ("keepalived.conf", 6, "sched_flag"), ("pykeepalived.yaml", 6, "bgp_scheduler")]
    text = BGP.replace("remote_as: 65000", "remote_as: 65000, hold_time: 2, keepalive: 1")
    result = check_config(str(write(tmp_path, text)), config_id="lb1")
    (diag,) = result.errors
    assert (Path(diag.file).name, diag.line, diag.code) == ("pykeepalived.yaml", 5, "bgp_timers")
    assert diag.source_line is not None and "hold_time: 2" in diag.source_line


def test_a_mistake_in_the_included_file_is_shown_there(tmp_path: Path) -> None:
    conf = KEEPALIVED_CONF.replace("lb_kind DR", "lb_kind DRR")
    result = check_config(str(write(tmp_path, BGP, conf)), config_id="lb1")
    assert not result.ok()
    errors = [(Path(d.file).name, d.line) for d in result.errors]
    assert ("keepalived.conf", 7) in errors, result.diagnostics


def test_a_section_in_both_files_is_an_error_at_the_yaml_key(tmp_path: Path) -> None:
    text = BGP + "global_defs: {router_id: other}\n"
    result = check_config(str(write(tmp_path, text)), config_id="lb1")
    (diag,) = [d for d in result.errors if d.code == "include_conflict"]
    assert (Path(diag.file).name, diag.line) == ("pykeepalived.yaml", 7)
    assert "'global_defs' is also in the included file" in diag.message


def test_a_missing_or_wrong_include(tmp_path: Path) -> None:
    result = check_config(str(write(tmp_path, BGP.replace("keepalived.conf", "nope.conf"))))
    (diag,) = result.errors
    assert diag.code == "include_file_not_found" and diag.line == 1 and "nope.conf" in diag.message
    result = check_config(str(write(tmp_path, BGP.replace("include: keepalived.conf", "include: [a, b]"))))
    assert "include_type" in [d.code for d in result.errors]


def test_include_is_one_level_deep(tmp_path: Path) -> None:
    (tmp_path / "inner.yaml").write_text("include: keepalived.conf\n")
    result = check_config(str(write(tmp_path, BGP.replace("keepalived.conf", "inner.yaml"))))
    assert "include_nested" in {d.code for d in result.errors}


def test_an_absolute_path(tmp_path: Path) -> None:
    absolute = f"include: {tmp_path / 'keepalived.conf'}"
    path = write(tmp_path, BGP.replace("include: keepalived.conf", absolute))
    assert load_config(str(path), config_id="lb1").bgp is not None
