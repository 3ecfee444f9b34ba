"""The control socket and `pykeepalived status` (text and --json), plus the small daemon helpers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.cli import main
from pykeepalived.commands.status import _format_lvs
from pykeepalived.daemon.logging import InstanceLogger, family_name, setup_logging
from pykeepalived.errors import UsageError
from pykeepalived.host.control import ControlServer, answer, query
from pykeepalived.host.pidfile import PidFile
from pykeepalived.host.sd_notify import SdNotifier

SNAPSHOT: dict[str, Any] = {
    "schema_version": 1,
    "drops": {"unknown_vrid": 2},
    "instances": [{
        "name": "VI_1", "interface": "eth0", "family": "v4", "vrid": 51, "state": "MASTER",
        "base_priority": 150, "effective_priority": 140, "master_address": "198.51.100.11",
        "vips": ["198.51.100.50/24"], "counters": {"advert_sent": 3},
        "last_transition": {"from": "BACKUP", "to": "MASTER", "reason": "master_down_timer_expired",
                            "at": 1.0},
    }],
}


def test_answer_status_and_unknown_command() -> None:
    assert answer("status\n", lambda: SNAPSHOT) is SNAPSHOT
    assert answer("", lambda: SNAPSHOT) is SNAPSHOT
    assert "error" in answer("reboot", lambda: SNAPSHOT)


async def _serving(path: str, body: Any) -> ControlServer:
    server = ControlServer(path, lambda: body)
    await server.start()
    return server


async def test_control_server_round_trip(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "control.sock")
    server = await _serving(path, SNAPSHOT)
    try:
        assert await asyncio.to_thread(query, path) == SNAPSHOT
        assert (await asyncio.to_thread(query, path, "bogus"))["error"].startswith("unknown command")
        assert server.requests == 2
    finally:
        await server.close()
    assert not os.path.exists(path)


async def test_cli_status_json_and_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "control.sock")
    server = await _serving(path, SNAPSHOT)
    try:
        rc = await asyncio.to_thread(main, ["status", "--json", "--socket", path])
        assert rc == 0
        assert json.loads(capsys.readouterr().out) == SNAPSHOT
        rc = await asyncio.to_thread(main, ["status", "--socket", path])
        out = capsys.readouterr().out
    finally:
        await server.close()
    assert rc == 0
    assert "VI_1" in out and "MASTER" in out and "140/150" in out and "198.51.100.50/24" in out
    assert "BACKUP -> MASTER (master_down_timer_expired)" in out
    assert "unknown_vrid=2" in out


def test_cli_status_without_daemon_is_a_clear_error(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["status", "--socket", str(tmp_path / "nothing.sock")])
    assert rc == 2
    err = capsys.readouterr().err
    assert "cannot reach the daemon" in err and "Traceback" not in err


async def test_cli_status_malformed_reply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "bad.sock")

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"[1, 2")
        await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(serve, path=path)
    try:
        rc = await asyncio.to_thread(main, ["status", "--socket", path])
    finally:
        server.close()
    assert rc == 1
    assert "malformed reply" in capsys.readouterr().err


def test_pidfile_written_and_removed(tmp_path: Path) -> None:
    path = tmp_path / "run" / "pyka.pid"
    with PidFile(path):
        assert path.read_text().strip() == str(os.getpid())
    assert not path.exists()


def test_pidfile_refuses_a_live_owner(tmp_path: Path) -> None:
    path = tmp_path / "pyka.pid"
    path.write_text("1\n")  # init is always alive
    with pytest.raises(UsageError, match="running process 1"):
        PidFile(path, pid=os.getpid()).acquire()
    path.write_text("999999999\n")  # stale
    with PidFile(path):
        assert path.read_text().strip() == str(os.getpid())


def test_sd_notifier_disabled_without_socket() -> None:
    notifier = SdNotifier.from_environ({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False
    assert notifier.watchdog_interval_s is None


def test_sd_notifier_sends_datagrams_and_counts_errors(tmp_path: Path) -> None:
    path = str(tmp_path / "n.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        notifier = SdNotifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
        assert notifier.watchdog_interval_s == 1.0
        assert notifier.notify("READY=1", "STATUS=up")
        assert listener.recv(100) == b"READY=1\nSTATUS=up"
    broken = SdNotifier(str(tmp_path / "gone.sock"))
    assert broken.notify("READY=1") is False
    assert broken.errors == 1
    assert SdNotifier.from_environ({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "junk"}).watchdog_usec is None


def test_instance_logger_prefix(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("pykeepalived.test_daemon")
    adapter = InstanceLogger(logger, 51, "eth0", 6)
    with caplog.at_level(logging.INFO, logger="pykeepalived.test_daemon"):
        adapter.info("Entering %s STATE", "MASTER")
    assert "[VRID 51][eth0][v6] Entering MASTER STATE" in caplog.text
    assert family_name("ipv4") == "v4"


def test_setup_logging_console_and_detail() -> None:
    stream = io.StringIO()
    root = setup_logging(console=True, detail=True, stream=stream)
    try:
        logging.getLogger("pykeepalived.x").debug("detail visible")
        assert "detail visible" in stream.getvalue()
        setup_logging(console=True, detail=False, stream=stream)
        logging.getLogger("pykeepalived.x").debug("hidden")
        assert "hidden" not in stream.getvalue()
        assert len(root.handlers) == 1
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        root.propagate = True


def test_text_status_shows_suspended_checks_and_an_unavailable_ipvs() -> None:
    lvs = {"running": True, "ipvs": "unavailable (no ip_vs module)", "virtual_servers": [{
        "service": "TCP 198.51.100.50:80", "name": "web", "quorum_up": True, "live_weight": 1, "quorum": 1,
        "real_servers": [{"address": "203.0.113.21:80", "up": True, "weight": 1, "last_result": "ok",
                          "reason": "HTTP 200", "latency_ms": 1.5, "suspended": True}],
    }]}
    lines = _format_lvs(lvs)
    assert "(checks suspended: ha_suspend)" in lines[1]
    assert lines[-1] == "ipvs: unavailable (no ip_vs module)"
    lvs["ipvs"] = "available"
    lvs["virtual_servers"][0]["real_servers"][0]["suspended"] = False
    lines = _format_lvs(lvs)
    assert "suspended" not in lines[1] and not lines[-1].startswith("ipvs:")
