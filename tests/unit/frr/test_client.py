"""The FRR adapter (frr/client.py) against fake ``vtysh`` and ``frr-reload.py`` programs.

The fakes keep FRR's running configuration in a file: ``show running-config`` prints it,
``frr-reload.py --reload`` replaces it with the file it is given, ``--test`` refuses a line containing
``bogus`` the way FRR does.  Every call is recorded, so the tests see what ran and with which
arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

from pykeepalived.errors import DriverError
from pykeepalived.frr.client import FrrClient
from pykeepalived.scaleout.spec import FrrAccessSpec

VTYSH = r'''
import json, os, sys, time
state = os.environ["FAKE_FRR"]
args = sys.argv[1:]
with open(os.path.join(state, "calls"), "a") as f:
    f.write(json.dumps(["vtysh", *args]) + "\n")
commands = [args[i + 1] for i, a in enumerate(args) if a == "-c"]
mode = open(os.path.join(state, "mode")).read().strip() if os.path.exists(os.path.join(state, "mode")) else ""
if mode == "hang":
    child = os.fork()
    if child == 0:  # what frr-reload.py starts (vtysh); not holding the pipes, so only a kill ends it
        os.close(1)
        os.close(2)
        time.sleep(30)
        os._exit(0)
    with open(os.path.join(state, "pid"), "w") as f:
        f.write(json.dumps({"pid": os.getpid(), "child": child, "sid": os.getsid(0)}))
    time.sleep(30)
if mode == "down":
    print("bgpd is not running", file=sys.stderr)
    sys.exit(0)
for command in commands:
    if command == "show running-config":
        sys.stdout.write(open(os.path.join(state, "running")).read())
    elif command.endswith("json"):
        sys.stdout.write(open(os.path.join(state, "json")).read() + "\n")
    else:
        print("% Unknown command: " + command)
'''
RELOAD = r'''
import json, os, shutil, sys
state = os.environ["FAKE_FRR"]
args = sys.argv[1:]
with open(os.path.join(state, "calls"), "a") as f:
    f.write(json.dumps(["frr-reload", *args]) + "\n")
path = args[-1]
text = open(path).read()
for number, line in enumerate(text.splitlines(), 1):
    if "bogus" in line:
        print(f"b'line {number}: % Unknown command:  {line.strip()}\\n\\n'", file=sys.stderr)
        sys.exit(1)
if "--test" in args:
    print("\nLines To Delete\n===============\nno hostname old\n\nLines To Add\n============")
    print("router bgp 65001\n timers bgp 3 9\nroute-map OPERATOR permit 10")
else:
    shutil.copy(path, os.path.join(state, "running"))
'''
RENDERED = """router bgp 65001
 bgp router-id 198.51.100.11
 timers bgp 3 9
exit
!
"""
RUNNING = """Building configuration...

Current configuration:
!
frr version 8.4.4
hostname lb1
!
route-map OPERATOR permit 10
 set metric 7
exit
!
end
"""


def program(path: Path, body: str) -> str:
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def frr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[FrrClient, Path]:
    state = tmp_path / "state"
    state.mkdir()
    (state / "running").write_text(RUNNING)
    monkeypatch.setenv("FAKE_FRR", str(state))
    access = FrrAccessSpec(vtysh=program(tmp_path / "vtysh", VTYSH),
                           reload=program(tmp_path / "reload", RELOAD), vty_socket="/run/frr-lab",
                           run_dir=str(tmp_path / "run"), timeout_s=5)
    return FrrClient(access), state


def calls(state: Path) -> list[list[str]]:
    path = state / "calls"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_apply_tests_then_reloads_the_merged_file(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    result = asyncio.run(client.apply(RENDERED))
    assert result.changed and result.drift == ()
    assert result.delta == ("router bgp 65001", " timers bgp 3 9")  # the operator's lines are not ours
    kinds = [(c[0], c[1] if c[0] == "frr-reload" else c[-1]) for c in calls(state)]
    assert kinds == [("vtysh", "show running-config"), ("frr-reload", "--test"), ("frr-reload", "--reload"),
                     ("vtysh", "show running-config")]
    reload = calls(state)[2]
    path = Path(reload[-1])
    run_dir = Path(client.access.run_dir)
    assert path == run_dir / "frr.conf"
    assert reload[reload.index("--confdir") + 1] == str(run_dir)  # frr-reload never writes /etc/frr
    assert reload[reload.index("--vty_socket") + 1] == "/run/frr-lab"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # passwords live there
    applied = (state / "running").read_text()
    assert "hostname lb1" in applied and "route-map OPERATOR permit 10" in applied and RENDERED in applied


def test_apply_in_sync_runs_nothing(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    (state / "running").write_text(RUNNING.replace("end\n", RENDERED + "end\n"))
    assert not asyncio.run(client.apply(RENDERED)).changed
    assert [c[0] for c in calls(state)] == ["vtysh"]


def test_a_refused_line_applies_nothing(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    with pytest.raises(DriverError) as caught:
        asyncio.run(client.apply(RENDERED.replace("timers bgp 3 9", "timers bgp bogus")))
    assert caught.value.op == "frr-reload.py --test"
    assert ("FRR refused line 3 of the rendered configuration: % Unknown command: timers bgp bogus"
            in str(caught.value))
    assert "--reload" not in {c[1] for c in calls(state) if c[0] == "frr-reload"}
    assert (state / "running").read_text() == RUNNING
    assert client.counters.reload_errors == 1


def test_drift_after_apply_is_reported(frr: tuple[FrrClient, Path], tmp_path: Path) -> None:
    client, _state = frr
    client.access = dataclasses.replace(client.access, reload=program(tmp_path / "noop", "import sys"))
    result = asyncio.run(client.apply(RENDERED))
    assert result.changed and "router bgp 65001 / timers bgp 3 9" in result.drift
    assert client.counters.reloads == 2  # one more round before reporting


def test_show_reads_every_answer(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    (state / "json").write_text(json.dumps({"ipv4Unicast": {"as": 65001}}))
    docs = asyncio.run(client.show("show bgp summary json", "show bfd peers json"))
    assert docs == [{"ipv4Unicast": {"as": 65001}}] * 2
    assert calls(state)[-1] == ["vtysh", "--vty_socket", "/run/frr-lab", "-c", "show bgp summary json", "-c",
                                "show bfd peers json"]
    (state / "json").write_text("% Unknown command")
    with pytest.raises(DriverError, match="% Unknown command"):
        asyncio.run(client.show("show bgp summary json"))
    (state / "json").write_text("{garbage")
    with pytest.raises(DriverError, match="not JSON"):
        asyncio.run(client.show("show bgp summary json"))


def test_a_daemon_down_is_an_error_naming_it(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    (state / "mode").write_text("down")
    with pytest.raises(DriverError, match="bgpd is not running"):
        asyncio.run(client.show("show bgp summary json"))
    assert client.counters.vtysh_errors == 1


def test_a_hung_vtysh_is_killed_at_the_timeout(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    (state / "mode").write_text("hang")
    client.access = dataclasses.replace(client.access, timeout_s=0.5)
    with pytest.raises(DriverError) as caught:
        asyncio.run(client.vtysh("show running-config"))
    assert caught.value.errno == errno.ETIMEDOUT and client.counters.timeouts == 1


def test_missing_programs(tmp_path: Path) -> None:
    client = FrrClient(FrrAccessSpec(vtysh=str(tmp_path / "no-vtysh"), run_dir=str(tmp_path)))
    with pytest.raises(DriverError, match="cannot run"):
        asyncio.run(client.vtysh("show running-config"))


def test_an_unwritable_run_dir(frr: tuple[FrrClient, Path], tmp_path: Path) -> None:
    client, _state = frr
    blocker = tmp_path / "file"
    blocker.write_text("")
    client.access = dataclasses.replace(client.access, run_dir=str(blocker / "run"))
    with pytest.raises(DriverError, match="cannot write"):
        asyncio.run(client.apply(RENDERED))


def test_a_cancelled_call_leaves_no_process_behind(frr: tuple[FrrClient, Path]) -> None:
    client, state = frr
    (state / "mode").write_text("hang")

    async def cancel() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.vtysh("show running-config"), 1.0)

    asyncio.run(cancel())
    hung = json.loads((state / "pid").read_text())
    assert not Path(f"/proc/{hung['pid']}").exists()  # killed and reaped
    assert hung["sid"] != os.getsid(0)  # its own session: a signal to the daemon's group spares it

    def gone(pid: int) -> bool:  # killed with it (reaped by init, or a zombie until then)
        status = Path(f"/proc/{pid}/status")
        return not status.exists() or "\nState:\tZ" in status.read_text()

    deadline = time.monotonic() + 5
    while not gone(hung["child"]) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gone(hung["child"])  # what it started goes too (frr-reload.py runs vtysh)
