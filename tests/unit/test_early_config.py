"""What ``pykeepalived run`` reads of the configuration before it listens: cheaply, and no more."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pykeepalived.config.load import EarlySettings, early_settings
from pykeepalived.early_config import file_may_have_early_settings


@pytest.mark.parametrize(("text", "may"), [
    ("vrrp_instance VI_1 {\n    interface eth0\n}\n", False),
    ("net_namespace blue\n", True),
    ("@lb1 net_namespace blue\n", True),
    ("instance lb_a\n", True),
    ("include /etc/keepalived/*.conf\n", True),
    ("global_defs:\n  router_id: x\nnet_namespace: blue\n", True),
    ("# instance in a comment mid-line is not a setting: instance\n", False),
])
def test_the_gate_passes_every_file_that_may_name_a_namespace_or_instance(
        tmp_path: Path, text: str, may: bool) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text(text)
    assert file_may_have_early_settings(str(path)) is may
    if not may:  # what the gate lets through unread is what the full reader finds nothing in
        assert early_settings(str(path)) == EarlySettings()


def test_an_unreadable_file_is_left_to_the_daemon_s_own_load(tmp_path: Path) -> None:
    assert file_may_have_early_settings(str(tmp_path / "missing.conf")) is False
    assert file_may_have_early_settings(str(tmp_path)) is False  # a directory


def test_the_run_command_reads_no_config_model_before_listening(tmp_path: Path) -> None:
    # the configuration's reader and models took ~250 ms, all before the early VRRP listener opened
    conf = tmp_path / "keepalived.conf"
    conf.write_text("vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n}\n")
    code = (
        "import argparse, sys\n"
        "from pykeepalived.commands import run\n"
        "args = argparse.Namespace(use_file=sys.argv[1], config_id=None, namespace=None, pid_file=None,"
        " check=False, config_test=None)\n"
        "run.apply_early_settings(args)\n"
        "print(args.instance, args.namespace, 'pykeepalived.config.load' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(conf)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "None", "False"]
