"""``Any`` only at true boundaries (docs/architecture.md, "Types"): every line of the package that
names it is listed here, with its reason next to it in the code."""

from __future__ import annotations

import re
from pathlib import Path

import pykeepalived

#: file (relative to the package) -> how many of its lines may name ``Any``
ALLOWED = {
    "net/netlink_watch.py": 2,  # pyroute2's parsed messages: the library ships no types for them
    "testing/fake_bgp.py": 3,  # bgp_spec_of(**fields): any BgpSpec field, each of its own type
    "web/kadump/data.py": 2,  # the status document read duck-typed, as keepalived's dump formats print it
    "web/kadump/structure.py": 2,  # what json.loads gives
    "web/vrrp_metrics.py": 3,  # the daemon's instance values as json.loads gives them (the web child's input)
}
_ANY = re.compile(r"\bAny\b")


def test_any_only_at_the_listed_boundaries() -> None:
    root = Path(pykeepalived.__file__).parent
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        count = sum(1 for line in path.read_text().splitlines() if _ANY.search(line))
        if count:
            found[name] = count
    assert found == ALLOWED
