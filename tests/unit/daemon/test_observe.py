"""The daemon's observability wiring: where the endpoint listens, the events it publishes, the
dumps on keepalived's signals, and the status document's new facts -- on a real loop with fake nets."""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.request
from argparse import Namespace
from ipaddress import ip_address
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon.app import DaemonOptions
from pykeepalived.daemon.listeners import GroupEvent, InstanceEvent
from pykeepalived.daemon.observe import DEFAULT_LISTEN, Observability, resolve_listen, web_settings
from pykeepalived.daemon.plans import config_hash
from pykeepalived.testing.daemon_harness import ONE_INSTANCE as CONFIG
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.vrrp.events import EffectivePriorityChanged, SplitBrainDetected, StateChanged
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.web.kadump.writer import DumpWriter
from pykeepalived.web.status_schema import STATUS_SCHEMA


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_where_the_endpoint_listens() -> None:
    g = SimpleNamespace(web_enabled=True, web_listen_address=None)
    assert resolve_listen(True, None, g) == DEFAULT_LISTEN == "127.0.0.1:9165"
    assert resolve_listen(True, None, SimpleNamespace(web_enabled=True, web_listen_address="[::1]:9100")) == \
        "[::1]:9100"
    assert resolve_listen(True, "0.0.0.0:9200", SimpleNamespace(web_enabled=False)) == "0.0.0.0:9200"
    assert resolve_listen(True, None, SimpleNamespace(web_enabled=False, web_listen_address="x")) is None
    assert resolve_listen(False, "0.0.0.0:9200", g) is None  # --no-web wins
    assert resolve_listen(True, None, None) == DEFAULT_LISTEN


def test_command_line_flags() -> None:
    assert DaemonOptions().web_enabled is False  # a bare options object (tests) never listens
    opts = DaemonOptions.from_args(Namespace(web_listen_address="127.0.0.1:9999"), environ={})
    assert (opts.web_enabled, opts.web_listen) == (True, "127.0.0.1:9999")
    assert DaemonOptions.from_args(Namespace(no_web=True), environ={}).web_enabled is False
    assert DaemonOptions.from_args(Namespace(web_metrics_max_age=0.0), environ={}).web_max_age_s == 0.0
    assert DaemonOptions.from_args(Namespace(), environ={}).web_max_age_s is None


def test_the_command_line_wins_over_global_defs() -> None:
    g = GlobalDefs(web_metrics_max_age=3, web_listen_address="127.0.0.1:9300")
    assert web_settings(DaemonOptions(web_enabled=True), g) == ("127.0.0.1:9300", 3.0)
    assert web_settings(DaemonOptions(web_enabled=True, web_max_age_s=0.0), g) == ("127.0.0.1:9300", 0.0)
    assert web_settings(DaemonOptions(web_enabled=True), None) == (DEFAULT_LISTEN, 2.0)
    assert web_settings(DaemonOptions(), g)[0] is None  # no command line: tests, never listening


def test_web_metrics_max_age_is_a_setting_of_global_defs() -> None:
    assert GlobalDefs().web_metrics_max_age == 2.0
    assert GlobalDefs(web_metrics_max_age=0).web_metrics_max_age == 0
    for bad in (-1, 3601, "soon"):
        with pytest.raises(ValidationError):
            GlobalDefs(web_metrics_max_age=bad)


def test_a_bad_listen_address_is_refused_early() -> None:
    with pytest.raises(ValueError):
        Observability(dict, listen="nowhere")


def test_config_hash_is_of_the_validated_config() -> None:
    a = SimpleNamespace(model_dump_json=lambda: '{"a":1}')
    assert config_hash(a) == config_hash(SimpleNamespace(model_dump_json=lambda: '{"a":1}'))
    assert config_hash(a) != config_hash(SimpleNamespace(model_dump_json=lambda: '{"a":2}'))


def test_events_carry_the_notify_fifo_lines() -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    obs = Observability(dict, listen=None)
    obs.child = SimpleNamespace(publish=lambda kind, data: published.append((kind, data)))  # type: ignore[assignment]
    obs.instance("VI_1", "MASTER", 150, old="BACKUP", reason="master_down_timer_expired")
    obs.group("G1", "BACKUP")
    obs.priority("VI_1", State.MASTER, 150, 140)
    obs.lvs_line("RS [198.51.100.21]:tcp:80 [198.51.100.50]:tcp:80 DOWN")
    obs.lvs_line("VS [198.51.100.50]:tcp:80 UP")
    obs.lvs_line("garbage")
    obs.tracker("script:chk", "script", up=False)
    obs.reload(ok=False, error="bad", config_hash="h")
    assert [(k, d.get("line")) for k, d in published] == [
        ("instance", 'INSTANCE "VI_1" MASTER 150'), ("group", 'GROUP "G1" BACKUP 0'),
        ("priority", 'INSTANCE "VI_1" MASTER_PRIORITY 140'),
        ("real_server", "RS [198.51.100.21]:tcp:80 [198.51.100.50]:tcp:80 DOWN"),
        ("virtual_server", "VS [198.51.100.50]:tcp:80 UP"), ("tracker", None), ("reload", None)]
    assert published[3][1]["up"] is False and published[4][1]["up"] is True


def _first_event(port: int) -> str:
    """Connect to /events and return the first event frame (not a comment)."""
    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.settimeout(15)
        buf = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return ""
            buf += chunk
            for frame in buf.split(b"\n\n"):
                if b"event: " in frame:
                    return frame[frame.index(b"id: "):].decode()


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


async def test_the_daemon_serves_metrics_status_and_events_and_dumps_on_signals(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    port = free_port()
    h = Harness(tmp_path)
    h.daemon.options = DaemonOptions(config_file=str(h.config), control_socket=h.sock, web_enabled=True,
                                     web_listen=f"127.0.0.1:{port}")
    await h.start()
    try:
        async with asyncio.timeout(20):  # the web child imports aiohttp and listens
            while not (h.daemon.observe.counters() or {}).get("listen"):
                await asyncio.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        code, body = await asyncio.to_thread(_get, base + "/metrics")
        assert code == 200
        assert b'pykeepalived_vrrp_state{family="v4",interface="eth0",state="MASTER",vrid="51",' \
               b'vrrp_instance="VI_1"} 1.0' in body
        code, body = await asyncio.to_thread(_get, base + "/status")
        doc = json.loads(body)
        jsonschema.validate(doc, STATUS_SCHEMA)
        assert doc["instances"][0]["master_priority"] == 200 and doc["config_hash"]
        assert doc["web"]["listen"] == f"127.0.0.1:{port}"
        code, body = await asyncio.to_thread(_get, base + "/status/instances/VI_1")
        assert code == 200 and json.loads(body)["name"] == "VI_1"
        assert (await asyncio.to_thread(_get, base + "/status/instances/nope"))[0] == 404
        assert await asyncio.to_thread(_get, base + "/healthz") == (200, b"ok\n")  # the daemon answered
        # a reload is published to /events (through the web child) and counted
        events = asyncio.create_task(asyncio.to_thread(_first_event, port))
        await h.until(lambda s: (s.get("web") or {}).get("event_clients") == 1)
        h.config.write_text(CONFIG + "  bogus: 1\n")
        h.daemon.request("reload")
        status = await h.until(lambda s: s["reload_errors"] == 1)
        assert status["last_reload"]["ok"] is False
        frame = await events
        assert frame.startswith("id: ") and "event: reload" in frame and '"ok":false' in frame
        await asyncio.sleep(h.daemon.observe.max_age_s)  # the child's snapshot ages out
        code, body = await asyncio.to_thread(_get, base + "/metrics")
        assert b'pykeepalived_config_reloads_total{result="failure"} 1.0' in body
        # scrapes within web_metrics_max_age are served from the child's copy: one snapshot
        before = h.daemon.observe.counters()["metrics_snapshots"]
        for _ in range(5):
            assert (await asyncio.to_thread(_get, base + "/metrics"))[0] == 200
        assert h.daemon.observe.counters()["metrics_snapshots"] - before <= 1
        # keepalived's dump signals
        for function in ("DATA", "STATS", "JSON"):
            h.daemon.request(f"dump:{function}")
        async with asyncio.timeout(5):
            while len(list(tmp_path.glob("keepalived.*"))) < 3:
                await asyncio.sleep(0.02)
        data = json.loads((tmp_path / "keepalived.json").read_text())
        assert data[0]["data"]["iname"] == "VI_1" and data[0]["data"]["state"] == 2
        assert "VRRP Instance: VI_1" in (tmp_path / "keepalived.stats").read_text()
        assert " VRRP Instance = VI_1\n" in (tmp_path / "keepalived.data").read_text()
        pid = h.daemon.observe.counters()["child_pid"]
    finally:
        await h.stop()
    assert h.daemon.observe.child is None  # stopped with the daemon
    assert not Path(f"/proc/{pid}").exists()  # by PID, reaped: no orphan


async def test_data_use_instance_names_the_data_file_after_the_namespace(tmp_path: Path) -> None:
    obs = Observability(_doc, listen=None, dumps=DumpWriter(tmp_path, hosts=list))
    obs.data_use_instance, obs.namespace = True, "blue"
    await obs.dump("DATA")
    assert [p.name for p in tmp_path.iterdir()] == ["keepalived.blue.data"]
    obs.namespace = None
    await obs.dump("DATA")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keepalived.blue.data", "keepalived.data"]


async def _doc() -> dict[str, Any]:
    return {"instances": [], "global_defs": {}}


def test_it_hears_state_priority_and_split_brain_news_as_a_listener() -> None:
    published: list[tuple[str, dict[str, Any]]] = []
    obs = Observability(dict, listen=None)
    obs.child = SimpleNamespace(publish=lambda kind, data: published.append((kind, data)))  # type: ignore[assignment]
    key = ("eth0", 4, 51)
    for change in (StateChanged(State.BACKUP, State.MASTER, Reason.MASTER_DOWN_TIMER),
                   EffectivePriorityChanged(150, 140, State.MASTER),
                   SplitBrainDetected(ip_address("198.51.100.9"), 100),
                   StateChanged(State.MASTER, State.INITIALIZE, Reason.SHUTDOWN)):
        obs(InstanceEvent(key, "VI_1", "G1", change, 150, 1.0, 2.0))
    obs(GroupEvent("G1", State.INITIALIZE, 1.0, 2.0))
    assert [(kind, data.get("line") or data.get("peer")) for kind, data in published] == [
        ("instance", 'INSTANCE "VI_1" MASTER 150'), ("priority", 'INSTANCE "VI_1" MASTER_PRIORITY 140'),
        ("split_brain", "198.51.100.9"), ("instance", 'INSTANCE "VI_1" STOP 150'),
        ("group", 'GROUP "G1" STOP 0')]
    assert published[0][1]["from"] == "BACKUP" and published[0][1]["reason"] == "master_down_timer_expired"
