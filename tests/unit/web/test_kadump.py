"""keepalived-compatible dumps: keepalived.data / .stats / .json against keepalived 2.2.7's own output.

tests/golden/kadump/kaN.{data,stats,json} are keepalived 2.2.7's files for kaN.conf (captured in the
lab: see README there); kaN.status.json is pykeepalived's status document for the same config and
state.  The writers must give the same sections, entities, keys (in order) and value shapes.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from pykeepalived.cli import main
from pykeepalived.web.kadump.counters import render_json, render_stats
from pykeepalived.web.kadump.data import PASSWORD_MASK, address, command, render_data, stamp
from pykeepalived.web.kadump.host import InterfaceFacts, interfaces
from pykeepalived.web.kadump.signals import DUMP_SIGNALS, SIGFUNCS, signum
from pykeepalived.web.kadump.structure import compare_data, data_structure, json_structure, stats_structure
from pykeepalived.web.kadump.writer import DumpWriter, data_file_name, dump_dir, write_atomic

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
GOLDEN = REPO / "tests" / "golden" / "kadump"
CASES = ("ka1", "ka2", "ka3")


def status(case: str) -> dict:
    return json.loads((GOLDEN / f"{case}.status.json").read_text())


@pytest.mark.parametrize("case", CASES)
def test_keepalived_data_has_keepalived_s_structure(case: str) -> None:
    ours = render_data(status(case), (), localtime=time.gmtime)
    assert compare_data((GOLDEN / f"{case}.data").read_text(), ours) == []


@pytest.mark.parametrize("case", CASES)
def test_keepalived_stats_has_keepalived_s_structure(case: str) -> None:
    theirs = stats_structure((GOLDEN / f"{case}.stats").read_text())
    assert stats_structure(render_stats(status(case))) == theirs


@pytest.mark.parametrize("case", CASES)
def test_keepalived_json_has_keepalived_s_fields_types_and_encodings(case: str) -> None:
    theirs_text = (GOLDEN / f"{case}.json").read_text()
    ours_text = render_json(status(case))
    assert json_structure(ours_text) == json_structure(theirs_text)
    assert ours_text.endswith("]\n") and "\n" not in ours_text[:-1]  # compact, like keepalived's
    # keepalived's number encodings: %f for the transition time, %g for intervals
    assert '"last_transition":' in ours_text
    first = json.loads(ours_text)[0]["data"]
    assert f'"last_transition":{first["last_transition"]:f}' in ours_text
    assert '"adver_int":1,' in ours_text or '"adver_int":0.5,' in ours_text


def test_the_comparison_notices_a_missing_key_and_a_changed_shape() -> None:
    theirs = (GOLDEN / "ka1.data").read_text()
    assert compare_data(theirs, theirs.replace("   Priority = 150\n", "")) != []
    assert compare_data(theirs, theirs.replace("Virtual Router ID = 51", "Virtual Router ID = x")) != []
    assert compare_data(theirs, theirs.replace("------< VRRP Sockpool >------\n", "")) != []


def test_the_password_never_reaches_the_world_readable_files() -> None:
    doc = status("ka3")
    assert PASSWORD_MASK in render_data(doc, ())
    assert '"auth_data":"********"' in render_json(doc)


def test_data_sections_follow_keepalived_s_order() -> None:
    lo = InterfaceFacts("lo", 1, "127.0.0.1", None, None, None, 0x49, 65536, 772)
    text = render_data(status("ka3"), [lo], localtime=time.gmtime)
    assert [name for name, _ in data_structure(text)] == [
        "Global definitions", "VRRP Topology", "VRRP Sockpool", "VRRP Scripts", "VRRP Track files",
        "Interfaces"]
    assert " Name = lo\n   index = 1\n   IPv4 address = 127.0.0.1\n   IPv6 address = (none)\n" \
           "   State = UP, RUNNING, no broadcast, loopback, no multicast\n" in text


def test_an_address_owner_says_whether_it_ignores_adverts_as_later_keepalived_releases() -> None:
    doc = status("ka1")
    assert "Address owner ignores" not in render_data(doc, ())  # no owner in ka1
    inst = doc["instances"][0]
    inst["base_priority"] = 255
    inst["config"]["owner_ignore_adverts"] = True
    text = render_data(doc, ())
    assert "   Send advert after receive higher priority advert = false\n" \
           "   Address owner ignores received adverts = true\n   Virtual Router ID = " in text


def test_the_source_says_whether_it_is_configured_and_is_none_while_the_interface_s_is_gone() -> None:
    doc = status("ka1")
    inst = doc["instances"][0]
    source = inst["config"]["primary_address"]
    inst["config"]["source_from_interface"] = False
    assert f"   Using src_ip = {source} (from configuration)\n" in render_data(doc, ())
    inst["config"]["source_from_interface"] = True
    assert f"   Using src_ip = {source}\n" in render_data(doc, ())
    inst["state"], inst["fault_reasons"] = "FAULT", [f"tracker:source:{source}"]
    assert "   Using src_ip = (none)\n" in render_data(doc, ())  # keepalived's while it has none


def test_value_encodings() -> None:
    assert stamp(1796619944.369605, time.gmtime) == "1796619944.369605 (Mon Dec  7 05:05:44.369605 2026)"
    assert stamp(0.9999999, time.gmtime) == "1.000000 (Thu Jan  1 00:00:01.000000 1970)"
    assert command("/no/such/prog 'a b' c") == "'/no/such/prog' 'a b' 'c'"
    inst = {"interface": "eth0", "state": "MASTER"}
    assert address({"address": "198.51.100.61/32", "dev": "eth0", "present": True}, inst) == \
        "198.51.100.61 dev eth0 scope global set"
    assert address({"address": "198.51.100.70/24", "dev": "eth0", "label": "eth0:vip", "present": False},
                   inst) == "198.51.100.70/24 dev eth0 scope global label eth0:vip"
    assert address({"address": "2001:db8:1::50/64", "dev": None}, {"interface": "eth0", "state": "BACKUP"}) \
        == "2001:db8:1::50/64 dev eth0 scope global preferred_lft forever"


def test_stats_clear_counts_from_zero_in_the_files_only(tmp_path: Path) -> None:
    doc = status("ka1")
    counters = doc["instances"][0]["counters"]
    sent = counters["advert_sent"]
    assert sent > 0
    writer = DumpWriter(tmp_path, hosts=list)
    writer.write("STATS_CLEAR", doc)
    before = (tmp_path / "keepalived.stats").read_text()
    assert f"    Sent: {sent}\n" in before  # written first, then cleared (keepalived's order)
    assert render_stats(doc, writer.baseline).count("    Sent: 0\n") == 2 * len(doc["instances"])
    counters["advert_sent"] += 2
    writer.write("JSON", doc)
    shown = {item["data"]["iname"]: item["stats"]["advert_sent"]
             for item in json.loads((tmp_path / "keepalived.json").read_text())}
    assert shown[doc["instances"][0]["name"]] == 2
    assert counters["advert_sent"] == sent + 2  # the status document (and /metrics) are never reset


def test_dump_files_are_written_whole_mode_0644_and_symlinks_are_replaced(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("precious\n")
    link = tmp_path / "keepalived.stats"
    link.symlink_to(target)
    writer = DumpWriter(tmp_path, hosts=list)
    assert writer.write("STATS", status("ka1")) == link
    assert target.read_text() == "precious\n"
    assert not link.is_symlink() and link.read_text().startswith("VRRP Instance: VI_1\n")
    assert stat.S_IMODE(link.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "keepalived.stats"]


def test_an_unwritable_directory_is_logged_not_raised(tmp_path: Path) -> None:
    writer = DumpWriter(tmp_path / "missing", hosts=list)
    assert writer.write("DATA", status("ka1")) is None
    assert writer.errors == 1


def test_write_atomic_leaves_no_temporary_file_behind_on_failure(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        write_atomic(tmp_path / "keepalived.data", "x")
    assert list(tmp_path.iterdir()) == []


def test_where_the_files_go() -> None:
    assert dump_dir({}) == Path("/tmp")
    assert dump_dir({"TMPDIR": "relative/dir"}) == Path("/tmp")
    assert dump_dir({"TMPDIR": "/run/ka"}) == Path("/run/ka")
    assert data_file_name() == "keepalived.data"
    assert data_file_name(use_instance=True) == "keepalived.data"
    assert data_file_name(use_instance=True, instance="lb1") == "keepalived.lb1.data"
    assert data_file_name(use_instance=True, instance="lb1", namespace="ns") == "keepalived.ns_lb1.data"
    writer = DumpWriter(Path("/x"), data_name="keepalived.ns.data")
    assert [p.name for f in ("DATA", "STATS", "STATS_CLEAR", "JSON") for p in writer.files(f)] == [
        "keepalived.ns.data", "keepalived.stats", "keepalived.stats", "keepalived.json"]


def test_signal_numbers_are_keepalived_2_2_7_s() -> None:
    assert SIGFUNCS == {"STOP": 15, "RELOAD": 1, "DATA": 10, "STATS": 12, "STATS_CLEAR": 63, "JSON": 36}
    assert DUMP_SIGNALS == {10: "DATA", 12: "STATS", 63: "STATS_CLEAR", 36: "JSON"}
    assert signum("TDATA") is None and signum("data") is None


@pytest.mark.parametrize(("name", "out", "code"),
                         [("DATA", "10\n", 0), ("JSON", "36\n", 0), ("STOP", "15\n", 0)])
def test_cli_signum(name: str, out: str, code: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([f"--signum={name}"]) == code
    assert capsys.readouterr().out == out


def test_cli_signum_unknown_is_keepalived_s_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--signum", "TDATA"]) == 1
    assert capsys.readouterr().err == "Unknown sigfunc TDATA\n"


def test_interfaces_of_this_namespace_include_loopback() -> None:
    found = {i.name: i for i in interfaces()}
    assert found["lo"].hw_type_name == "LOOPBACK" and found["lo"].ipv4 == "127.0.0.1"
    assert "loopback" in found["lo"].state
