"""``pykeepalived -s NAME`` joins the named network namespace before it looks at anything: the
interfaces ``check --host`` sees are that namespace's.  Started from another lab namespace, so that
nothing could ever run in the root namespace, even if joining failed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

CONF = """\
vrrp_instance VI_1 {
    interface only_d1
    virtual_router_id 51
    virtual_ipaddress { 198.51.100.50/24 }
}
"""


def test_namespace_flag_checks_the_named_namespace(director_pair: Any, tmp_path: Path) -> None:
    d1, c1 = director_pair.d1, director_pair.c1
    d1.ip("link", "add", "only_d1", "type", "veth", "peer", "name", "only_d1p")
    conf = tmp_path / "keepalived.conf"
    conf.write_text(CONF)
    command = [sys.executable, "-m", "pykeepalived", "-t", "--host", "--strict", "-q", "-f", str(conf)]
    here = c1.run(command, check=False, timeout=60)
    assert here.returncode == 1 and "interface 'only_d1' does not exist on this host" in here.stdout
    there = c1.run([*command, "-s", d1.netns], check=False, timeout=60)
    assert there.returncode == 0, there.stdout + there.stderr
    missing = c1.run([*command, "-s", f"{d1.netns}-gone"], check=False, timeout=60)
    assert missing.returncode == 2 and "does not exist" in missing.stderr
