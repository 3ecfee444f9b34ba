"""The daemon checks its configuration against the host at start and at every reload (as keepalived's
"Non-existent interface specified"): a missing interface stops the start with a clear message, and a
reload with one keeps the running configuration."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pykeepalived.config.host import StaticHost
from pykeepalived.exit_codes import ExitCode
from pykeepalived.testing.daemon_harness import ONE_INSTANCE
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness

HOST = StaticHost({"lo", "eth0"})


async def test_a_missing_interface_stops_the_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(tmp_path, ONE_INSTANCE.replace("interface: eth0", "interface: eth9"), facts=HOST)
    with caplog.at_level(logging.ERROR):
        assert await h.daemon.run() == ExitCode.INVALID
    assert "interface 'eth9' does not exist on this host" in caplog.text


async def test_dynamic_interfaces_allows_it(tmp_path: Path) -> None:
    config = "global_defs: {dynamic_interfaces: true}\n" + ONE_INSTANCE.replace("eth0", "eth9")
    h = Harness(tmp_path, config, facts=HOST)
    await h.start()
    assert await h.stop() == ExitCode.OK


async def test_a_reload_naming_a_missing_interface_keeps_the_running_config(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(tmp_path, facts=HOST)
    await h.start()
    h.config.write_text(ONE_INSTANCE.replace("interface: eth0", "interface: eth9"))
    with caplog.at_level(logging.ERROR):
        h.daemon.request("reload")
        status = await h.until(lambda s: s["reload_errors"] == 1)
    assert status["last_reload"]["ok"] is False
    assert "error: interface 'eth9' does not exist on this host [host_interface]" in caplog.text
    assert status["instances"][0]["interface"] == "eth0" and status["instances"][0]["state"] == "MASTER"
    assert await h.stop() == ExitCode.OK
