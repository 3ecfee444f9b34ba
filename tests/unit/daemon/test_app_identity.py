"""What the daemon takes from keepalived's flags and the configuration's identity: ``-a`` logs
address changes, the configuration's ``umask`` (unless ``-u``), ``instance`` names the keepalived-format
dump, and a reload may not change ``instance`` or ``net_namespace_ipvs`` (keepalived: "please restart")."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from ipaddress import ip_interface
from pathlib import Path

import pytest

from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.netlink_watch import AddressEvent
from pykeepalived.testing.daemon_harness import ONE_INSTANCE
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness


async def test_address_monitoring_logs_every_address_event(tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(tmp_path)
    h.daemon.options = replace(h.daemon.options, address_monitoring=True)
    await h.start()
    with caplog.at_level(logging.INFO, logger="pykeepalived.netlink"):
        h.net.on_address(AddressEvent(7, "eth3", ip_interface("203.0.113.9/24"), present=True))
        h.net.on_address(AddressEvent(7, "eth3", ip_interface("203.0.113.9/24"), present=False))
    assert "Netlink reflector reports IP 203.0.113.9 added to eth3" in caplog.text
    assert "Netlink reflector reports IP 203.0.113.9 removed from eth3" in caplog.text
    assert await h.stop() == ExitCode.OK


async def test_the_configured_umask_applies_unless_the_command_line_set_one(tmp_path: Path) -> None:
    before = os.umask(0o022)
    try:
        h = Harness(tmp_path, "global_defs: {umask: 63}\n" + ONE_INSTANCE)
        await h.start()
        assert os.umask(0o022) == 0o077
        assert await h.stop() == ExitCode.OK
        h = Harness(tmp_path, "global_defs: {umask: 63}\n" + ONE_INSTANCE)
        h.daemon.options = replace(h.daemon.options, umask_given=True)
        await h.start()
        assert os.umask(0o022) == 0o022
        assert await h.stop() == ExitCode.OK
    finally:
        os.umask(before)


async def test_instance_names_the_dump_and_cannot_change_at_a_reload(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    h = Harness(tmp_path, "instance: lb_a\nglobal_defs: {data_use_instance: true}\n" + ONE_INSTANCE)
    await h.start()
    await h.daemon.observe.dump("DATA")
    assert (tmp_path / "keepalived.lb_a.data").exists()
    h.config.write_text("instance: lb_b\n" + ONE_INSTANCE)
    with caplog.at_level(logging.ERROR):
        h.daemon.request("reload")
        await h.until(lambda s: s["reload_errors"] == 1)
    assert "instance cannot change at a reload (lb_a -> lb_b): restart the daemon" in caplog.text
    h.config.write_text("instance: lb_a\nnet_namespace_ipvs: ''\n" + ONE_INSTANCE)
    with caplog.at_level(logging.ERROR):
        h.daemon.request("reload")
        await h.until(lambda s: s["reload_errors"] == 2)
    assert "net_namespace_ipvs cannot change at a reload (- -> /proc/1/ns/net)" in caplog.text
    assert await h.stop() == ExitCode.OK


async def test_a_net_namespace_the_daemon_was_not_started_in_stops_the_start(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(tmp_path, "net_namespace: blue\n" + ONE_INSTANCE)
    with caplog.at_level(logging.ERROR):
        assert await h.daemon.run() == ExitCode.INVALID
    assert "net_namespace blue: pykeepalived run joins it before anything starts" in caplog.text
