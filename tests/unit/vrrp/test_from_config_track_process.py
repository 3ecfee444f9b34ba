"""vrrp_track_process in the config (both syntaxes, --check findings) and how its weights reach each
instance (keepalived 2.2.7: instance weights stay in sync groups, group trackers apply to members)."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config, check_text
from pykeepalived.vrrp.from_config import PROCESS_PREFIX, VrrpPlan, vrrp_plan
from pykeepalived.vrrp.track_process import QUORUM_MAX_UNLIMITED, ParamMatch, ProcessSpec
from pykeepalived.vrrp.tracking import TrackerSpec

INSTANCE = "{interface: eth0, virtual_router_id: %d, priority: %d, virtual_ipaddress: [198.51.100.%d/24]%s}"


def yaml(processes: str, instances: dict[str, tuple[int, str]], groups: str = "") -> str:
    text = f"vrrp_track_processes:\n{processes}"
    if groups:
        text += f"vrrp_sync_groups:\n{groups}"
    text += "vrrp_instances:\n"
    for i, (name, (priority, extra)) in enumerate(instances.items(), start=1):
        text += f"  {name}: {INSTANCE % (50 + i, priority, 50 + i, extra)}\n"
    return text


def codes(text: str) -> list[str]:
    return sorted(d.code for d in check_text(text).diagnostics)


def plan(text: str) -> VrrpPlan:
    result = check_text(text)
    assert result.config is not None, [d.message for d in result.diagnostics]
    return vrrp_plan(result.config, lambda ifname, family: ip_address("198.51.100.11"))


def process_trackers(text: str, name: str = "VI_1") -> dict[str, TrackerSpec]:
    p = plan(text)
    spec = next(s for s in p.instances.values() if s.name == name)
    return {t.name: t for t in spec.router_config.trackers if t.name.startswith(PROCESS_PREFIX)}


# -- the model ---------------------------------------------------------------------------------------

def test_the_core_spec_from_the_config() -> None:
    text = yaml("  hap: {process: /usr/sbin/haproxy, params: [-f, /etc/h.cfg], param_match: initial, "
                "quorum: 2, quorum_max: 4, delay: 0.5, terminate_delay: 2}\n"
                "  ng: {process: nginx}\n"
                "  unused: {process: x}\n",
                {"VI_1": (100, ", track_process: [hap, ng]")})
    processes = plan(text).processes
    assert set(processes) == {"hap", "ng"}  # only what is tracked runs
    assert processes["hap"] == ProcessSpec("hap", "/usr/sbin/haproxy", ("-f", "/etc/h.cfg"),
                                           ParamMatch.INITIAL, True, 2, 4, fork_delay_s=0.5,
                                           terminate_delay_s=2.0)
    assert processes["ng"] == ProcessSpec("ng", "nginx", (), ParamMatch.NONE, False, 1, QUORUM_MAX_UNLIMITED)


def test_parameters_imply_exact_and_the_command_line() -> None:
    text = yaml("  p: {process: /bin/sleep, params: '100'}\n  q: {process: sleep, param_match: exact}\n",
                {"VI_1": (100, ", track_process: [p, q]")})
    processes = plan(text).processes
    assert (processes["p"].param_match, processes["p"].full_command, processes["p"].params) == (
        ParamMatch.EXACT, True, ("100",))
    assert (processes["q"].param_match, processes["q"].full_command) == (ParamMatch.EXACT, True)


@pytest.mark.parametrize(("body", "code"), [
    ("{process: x, quorum: 3, quorum_max: 2}", "quorum"),
    ("{process: x, quorum: 1, quorum_max: 0}", "quorum"),
    ("{process: x, weight: 255}", "less_than_equal"),
    ("{process: x, delay: 0}", "greater_than"),
    ("{process: x, delay: 3601}", "less_than_equal"),
    ("{process: x, param_match: regex}", "enum"),
    ("{process: x, quorum: yes}", "int_type"),
    ("{params: [a]}", "missing"),
    ("{process: x, proces: y}", "extra_forbidden"),
])
def test_bad_definitions(body: str, code: str) -> None:
    assert code in codes(yaml(f"  p: {body}\n", {"VI_1": (100, ", track_process: [p]")}))


def test_quorum_max_zero_means_none_may_run() -> None:
    processes = plan(yaml("  p: {process: x, quorum_max: 0}\n",
                          {"VI_1": (100, ", track_process: [p]")})).processes
    assert (processes["p"].quorum, processes["p"].quorum_max) == (0, 0)


def test_check_findings() -> None:
    unknown = yaml("  p: {process: x}\n", {"VI_1": (100, ", track_process: [q]")})
    assert codes(unknown) == ["unknown_reference"]
    assert codes(yaml("  p: {process: x}\n", {"VI_1": (100, ", track_process: [p, p]")})) == [
        "duplicate_track_process"]
    long_name = yaml("  p: {process: a-very-long-daemon-name}\n", {"VI_1": (100, ", track_process: [p]")})
    assert codes(long_name) == ["process_name_length"]
    assert codes(long_name.replace("}\n", ", full_command: true}\n", 1)) == []
    group = yaml("  p: {process: x}\n", {"VI_1": (100, "")}, "  G: {group: [VI_1], track_process: [z]}\n")
    assert codes(group) == ["unknown_reference"]


def test_keepalived_conf_twin(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("""vrrp_track_process hap {
    process /usr/sbin/haproxy -f "/etc/h a.cfg"
    param_match initial
    weight -30 reverse
    quorum 2
    quorum_max 3
    fork_delay 0.2
    terminate_delay 1.5
}
vrrp_track_process exact_none {
    process sleep
    param_match
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        198.51.100.51/24
    }
    track_process {
        hap weight 20 noreverse
        exact_none
    }
}
""")
    twin = tmp_path / "k.yaml"
    twin.write_text("""vrrp_track_processes:
  hap: {process: /usr/sbin/haproxy, params: [-f, /etc/h a.cfg], param_match: initial, weight: -30,
        reverse: true, quorum: 2, quorum_max: 3, fork_delay: 0.2, terminate_delay: 1.5}
  exact_none: {process: sleep, param_match: exact}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 100
    virtual_ipaddress: [198.51.100.51/24]
    track_process: [{name: hap, weight: 20, reverse: false}, exact_none]
""")
    a = check_config(str(conf), syntax=Syntax.KEEPALIVED)
    b = check_config(str(twin))
    assert a.diagnostics == [] and b.diagnostics == []
    assert a.config == b.config


def test_keepalived_conf_errors_are_positioned(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_track_process p {\n    process x\n    quorum 3\n    quorum_max 2\n"
                    "    wieght 2\n}\n")
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED)
    found = sorted((d.code, d.line, d.col) for d in result.diagnostics)
    assert ("quorum", 4, 16) in found  # reported at the quorum_max value
    assert ("unknown_keyword", 5, 5) in found


# -- weights as keepalived 2.2.7 applies them ------------------------------------------------------------

PROCS = "  hap: {process: haproxy, weight: -20}\n  ng: {process: nginx}\n"


def test_instance_weights_and_overrides() -> None:
    got = process_trackers(yaml(PROCS, {"VI_1": (100, ", track_process: [hap, {name: ng, weight: 5, "
                                                     "reverse: true}]")}))
    assert got == {"process:hap": TrackerSpec("process:hap", -20),
                   "process:ng": TrackerSpec("process:ng", 5, True)}


def test_a_sync_group_member_keeps_its_process_weights() -> None:
    text = yaml(PROCS, {"VI_1": (100, ", track_process: [hap]")}, "  G: {group: [VI_1]}\n")
    assert process_trackers(text) == {"process:hap": TrackerSpec("process:hap", -20)}


def test_group_trackers_apply_to_every_member_with_the_groups_weight() -> None:
    text = yaml(PROCS, {"VI_1": (100, ", track_process: [{name: hap, weight: -5, reverse: true}]"),
                        "VI_2": (100, ", track_process: [{name: ng, weight: 0}]"),
                        "VI_3": (100, "")},
                "  G: {group: [VI_1, VI_2, VI_3], track_process: [{name: hap, weight: -50}, "
                "{name: ng, weight: 7}]}\n")
    # VI_1 lists hap too: the group's weight, its own reverse; VI_2's weight 0 stays 0
    assert process_trackers(text, "VI_1") == {"process:hap": TrackerSpec("process:hap", -50, True),
                                              "process:ng": TrackerSpec("process:ng", 7)}
    assert process_trackers(text, "VI_2") == {"process:ng": TrackerSpec("process:ng", 0),
                                              "process:hap": TrackerSpec("process:hap", -50)}
    assert process_trackers(text, "VI_3") == {"process:hap": TrackerSpec("process:hap", -50),
                                              "process:ng": TrackerSpec("process:ng", 7)}


def test_an_owner_in_the_group_zeroes_group_weights() -> None:
    text = yaml(PROCS, {"VI_1": (255, ""), "VI_2": (100, "")},
                "  G: {group: [VI_1, VI_2], track_process: [hap]}\n")
    assert process_trackers(text, "VI_2") == {"process:hap": TrackerSpec("process:hap", 0)}


def test_a_duplicate_reference_keeps_the_first() -> None:
    text = yaml(PROCS, {"VI_1": (100, ", track_process: [{name: hap, weight: 3}, {name: hap, weight: 9}]")})
    assert process_trackers(text) == {"process:hap": TrackerSpec("process:hap", 3)}
