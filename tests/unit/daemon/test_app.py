"""The daemon end to end on a real event loop with fake network adapters (no root, no sockets to the wire).

Covers start-up, reload (same config keeps state; a bad config is refused; a new instance starts
alone), stop with priority-0 adverts and VIP release (or not, with -V), real SIGTERM/SIGHUP
handling, sd_notify messages and the status JSON on the control socket.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
from ipaddress import ip_address, ip_interface
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.daemon.app import DaemonOptions
from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.early_listen import Heard
from pykeepalived.net.netlink_watch import AddressEvent
from pykeepalived.testing.daemon_harness import ONE_INSTANCE as CONFIG
from pykeepalived.testing.daemon_harness import SECOND_INSTANCE as SECOND
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.vrrp.packet import Advertisement, decode, encode
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.timers import first_master_down_at


def last_priority(net: FakeNet) -> int:
    _key, payload, dst = net.sent[-1]
    return decode(payload, src=ip_address("198.51.100.11"), dst=dst).priority


async def test_start_master_then_stop_releases(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    assert h.net.vips == {"198.51.100.50/24"}
    assert len(h.net.garps) >= 1
    status = await h.status()
    inst = status["instances"][0]
    assert (inst["name"], inst["vrid"], inst["family"], inst["interface"]) == ("VI_1", 51, "v4", "eth0")
    assert inst["master_address"] == "198.51.100.11"
    assert inst["last_transition"]["reason"] == "master_down_timer_expired"
    assert await h.stop() == ExitCode.OK
    assert h.net.vips == set()
    assert last_priority(h.net) == 0
    assert not os.path.exists(h.sock)


async def test_stop_without_release_keeps_vips(tmp_path: Path) -> None:
    h = Harness(tmp_path, release=False)
    await h.start()
    assert await h.stop() == ExitCode.OK
    assert h.net.vips == {"198.51.100.50/24"}
    assert last_priority(h.net) == 0


async def test_reload_keeps_state_refuses_bad_config_and_starts_new_instance(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    before = (await h.status())["instances"][0]["transitions"]
    sent_before = len(h.net.opened)
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reloads"] == 1)
    assert status["instances"][0]["transitions"] == before
    assert len(h.net.opened) == sent_before  # nothing reopened
    h.config.write_text("vrrp_instances:\n  VI_1:\n    virtual_router_id: 999\n")
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reload_errors"] == 1)
    assert status["instances"][0]["state"] == "MASTER"
    h.config.write_text(CONFIG + SECOND)
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reloads"] == 2 and len(s["instances"]) == 2
                           and s["instances"][1]["state"] == "MASTER")
    assert status["instances"][0]["transitions"] == before
    assert h.net.vips == {"198.51.100.50/24", "198.51.100.60/24"}
    h.config.write_text(CONFIG.replace("198.51.100.50/24", "198.51.100.70/24"))
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reloads"] == 3 and len(s["instances"]) == 1
                           and s["instances"][0]["state"] == "MASTER")
    assert h.net.vips == {"198.51.100.70/24"}
    assert await h.stop() == ExitCode.OK


async def test_vip_deleted_behind_the_masters_back_is_restored(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    h.net.vips.discard("198.51.100.50/24")
    assert h.net.on_address is not None
    h.net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.99/24"), False))  # not ours
    h.net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.50/24"), True))  # an add
    status = await h.status()
    assert status["executor"].get("vips_restored", 0) == 0
    h.net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.50/24"), False))
    status = await h.until(lambda s: "198.51.100.50/24" in h.net.vips)
    assert status["executor"]["vips_restored"] == 1
    await h.stop()


async def test_a_no_track_vip_deleted_behind_the_masters_back_stays_deleted(tmp_path: Path) -> None:
    config = CONFIG.replace("virtual_ipaddress: [198.51.100.50/24]", "virtual_ipaddress:\n"
                            "    - {address: 198.51.100.60/24, no_track: true}\n    - 198.51.100.50/24")
    h = Harness(tmp_path, config)
    await h.start()
    assert h.net.vips == {"198.51.100.50/24", "198.51.100.60/24"}
    assert h.net.on_address is not None
    h.net.vips.discard("198.51.100.60/24")
    h.net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.60/24"), False))  # no_track: left
    h.net.vips.discard("198.51.100.50/24")
    h.net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.50/24"), False))  # restored, after
    status = await h.until(lambda s: "198.51.100.50/24" in h.net.vips)
    assert status["executor"]["vips_restored"] == 1
    assert h.net.vips == {"198.51.100.50/24"}
    assert status["instances"][0]["state"] == "MASTER"
    await h.stop()


async def test_real_signals(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    os.kill(os.getpid(), signal.SIGHUP)
    await h.until(lambda s: s["reloads"] == 1)
    os.kill(os.getpid(), signal.SIGTERM)
    assert h.task is not None
    async with asyncio.timeout(2):
        assert await h.task == ExitCode.OK
    assert h.net.vips == set()


async def test_a_stop_signal_when_idle_sends_the_priority_0_adverts_in_its_own_callback(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    await asyncio.sleep(0)  # the serving coroutine waits for a command
    h.daemon.stop_gate.signal()  # what SIGTERM's loop callback calls
    assert last_priority(h.net) == 0  # before the main coroutine has run again
    assert h.task is not None
    async with asyncio.timeout(2):
        assert await h.task == ExitCode.OK
    assert h.net.vips == set()
    assert sum(1 for _k, payload, dst in h.net.sent  # one priority-0 advert: the stop ran once
               if decode(payload, src=ip_address("198.51.100.11"), dst=dst).priority == 0) == 1


async def test_a_stop_signal_behind_a_queued_command_waits_for_its_turn(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    h.daemon.request("reload")
    h.daemon.stop_gate.signal()
    assert last_priority(h.net) != 0  # the reload runs first, then the stop
    assert h.task is not None
    async with asyncio.timeout(5):
        assert await h.task == ExitCode.OK
    assert last_priority(h.net) == 0
    assert h.daemon.info.reloads == 1


async def test_invalid_config_at_start_exits_invalid(tmp_path: Path) -> None:
    h = Harness(tmp_path, "vrrp_instances:\n  VI_1:\n    priorty: 100\n")
    assert await h.daemon.run() == ExitCode.INVALID


async def test_sd_notify_messages(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        listener.setblocking(False)
        h = Harness(tmp_path, environ={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "100000"})
        await h.start()
        h.daemon.request("reload")
        await h.until(lambda s: s["reloads"] == 1)
        await h.stop()
        messages = []
        while True:
            try:
                messages.append(listener.recv(4096).decode())
            except BlockingIOError:
                break
    joined = "\n".join(messages)
    for field in ("READY=1", "RELOADING=1", "STOPPING=1", "WATCHDOG=1", f"MAINPID={os.getpid()}"):
        assert field in joined
    assert messages.index(next(m for m in messages if "RELOADING=1" in m)) < len(messages) - 1


def test_options_from_keepalived_style_args() -> None:
    args = argparse.Namespace(use_file="/x.conf", log_console=True, log_detail=False, pid_file="/p",
                              config_id="d1", dont_release_vrrp=True)
    opts = DaemonOptions.from_args(args, {"PYKEEPALIVED_CONTROL_SOCKET": "/tmp/c.sock"})
    assert (opts.config_file, opts.pid_file) == ("/x.conf", "/p")
    assert (opts.config_id, opts.release_vips) == ("d1", False)
    assert opts.control_socket == "/tmp/c.sock"
    default = DaemonOptions.from_args(argparse.Namespace(use_file="/x"), {})
    assert default.control_socket is None and default.control_socket_path().endswith("control.sock")


async def test_sync_group_starts_together_and_runs_group_notify(tmp_path: Path) -> None:
    log = tmp_path / "notify.log"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    script.chmod(0o755)
    h = Harness(tmp_path, f"vrrp_sync_groups:\n  G:\n    group: [VI_1, VI_2]\n    notify: {script}\n"
                + CONFIG + SECOND)
    h.run()
    await h.until(lambda s: [i["state"] for i in s["instances"]] == ["MASTER", "MASTER"])
    async with asyncio.timeout(5):
        while not (log.exists() and "GROUP G MASTER 0" in log.read_text()):
            await asyncio.sleep(0.02)
    assert h.net.vips == {"198.51.100.50/24", "198.51.100.60/24"}
    assert await h.stop() == ExitCode.OK
    assert log.read_text().splitlines()[0] == "GROUP G BACKUP 0"


async def test_socket_that_cannot_open_leaves_the_instance_in_fault(tmp_path: Path) -> None:
    h = Harness(tmp_path, net=FakeNet(fail_open=True))
    h.run()
    status = await h.until(lambda s: bool(s["instances"]))
    inst = status["instances"][0]
    assert inst["state"] == "FAULT"
    assert inst["counters"]["socket_errors"] == 1
    assert inst["fault_reasons"] == ["interface_down"]
    assert await h.stop() == ExitCode.OK


EARLY_CONFIG = """
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 200
    advert_int: 1
    version: 3
    unicast_src_ip: 198.51.100.11
    virtual_ipaddress: [198.51.100.50/24]
"""
EARLY_DOWN_S = 3 + (256 - 200) / 256  # Master_Down_Interval, v3, 1 s, priority 200


class FakeEarly:
    """The early listener's answer for every instance: listening since ``ago_s`` ago, and one advert
    from a higher-priority peer heard ``heard_ago_s`` ago (None: nothing heard)."""

    def __init__(self, ago_s: float, heard_ago_s: float | None = None) -> None:
        self.ago_s = ago_s
        self.heard_ago_s = heard_ago_s
        self.asked: list[tuple[str, int, int, str | None]] = []
        self.asked_at: float | None = None
        self.since: float | None = None
        self.heard: list[Heard] = []
        self.closed = False

    def replay(self, interface: str, family: int, vrid: int, *, multicast_group: str | None) -> Any:
        self.asked.append((interface, family, vrid, multicast_group))
        now = self.asked_at = asyncio.get_running_loop().time()
        self.since = now - self.ago_s
        if self.heard_ago_s is not None:
            src, dst = ip_address("198.51.100.12"), ip_address("224.0.0.18")
            advert = Advertisement(3, vrid, 250, 100, (ip_address("198.51.100.50"),))
            self.heard = [Heard(encode(advert, src=src, dst=dst), str(src), str(dst), 255, ifindex=2,
                                at=now - self.heard_ago_s)]
        return self.since, self.heard

    def close(self) -> None:
        self.closed = True


def early_harness(tmp_path: Path, early: FakeEarly) -> Harness:
    return Harness(tmp_path, EARLY_CONFIG, early=early)  # type: ignore[arg-type]  # a stand-in


async def test_an_instance_silent_since_the_early_start_counts_its_down_timer_from_then(
        tmp_path: Path) -> None:
    early = FakeEarly(ago_s=EARLY_DOWN_S + 1)
    h = early_harness(tmp_path, early)
    await h.start()  # MASTER at once: its down interval had passed since the early start
    slot = next(iter(h.daemon.runner.slots.values()))
    assert early.asked == [("eth0", 4, 51, "224.0.0.18")]
    assert early.asked_at is not None
    assert slot.transitions[-1].new is State.MASTER
    assert slot.transitions[-1].at_monotonic < early.asked_at + EARLY_DOWN_S  # sooner than from its start
    assert early.closed
    assert await h.stop() == ExitCode.OK


async def test_a_cold_start_counts_its_first_down_timer_from_the_exec(tmp_path: Path) -> None:
    started = asyncio.get_running_loop().time() - 0.1  # the exec, before the early listener opened
    early = FakeEarly(ago_s=0.05)
    h = Harness(tmp_path, EARLY_CONFIG, early=early, process_started=started)  # type: ignore[arg-type]
    h.run()
    await h.until(lambda s: bool(s["instances"]))
    slot = next(iter(h.daemon.runner.slots.values()))
    assert early.since is not None
    deadline = slot.router.timers()["master_down"]
    assert deadline == pytest.approx(first_master_down_at(early.since, EARLY_DOWN_S, 1.0, 3, started))
    assert deadline < early.since + EARLY_DOWN_S  # sooner than the RFC's from the socket
    assert h.daemon.instances.process_started is None  # the first start only: reloads count as the RFC
    assert await h.stop() == ExitCode.OK


async def test_an_advert_heard_before_the_start_is_replayed_at_its_receive_time(tmp_path: Path) -> None:
    early = FakeEarly(ago_s=EARLY_DOWN_S + 1, heard_ago_s=0.5)
    h = early_harness(tmp_path, early)
    h.run()
    status = await h.until(lambda s: bool(s["instances"]))
    slot = next(iter(h.daemon.runner.slots.values()))
    assert status["instances"][0]["state"] == "BACKUP"  # the peer outranks it: it waits for it
    (heard,) = early.heard
    assert slot.router.timers()["master_down"] == pytest.approx(heard.at + EARLY_DOWN_S)
    assert slot.router.master_address == ip_address("198.51.100.12")
    assert await h.stop() == ExitCode.OK


async def test_config_warnings_are_logged_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(tmp_path, CONFIG + "    smtp_alert: true\n")
    with caplog.at_level("WARNING", logger="pykeepalived.daemon.app"):
        await h.start()
        assert await h.stop() == ExitCode.OK
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("config: ")]
    assert len(lines) == 1 and "smtp_alert" in lines[0] and "pyka.yaml:" in lines[0]
