"""Every (block, keyword) pair of keepalived 2.2.7 through the keepalived.conf reader: none is a
fatal ``unknown_keyword``, and what the reader and the validator say about it is what the inventory
(pykeepalived/config/inventory.tsv) promises:

* ``acted_on``: no diagnostic at the keyword;
* ``not_applicable``: exactly one ``not_applicable`` note, with the inventory's reason, nothing else;
* ``pending``: a ``not_implemented`` warning with the inventory's text, and no error.

Each keyword is written, with the inventory's sample arguments, into the block it belongs to in a
small valid configuration (host-independent: scripts are looked up in a fake file system).  A
keyword inside a block that is itself read past (``SMTP_CHECK { ... }``) answers at that block's line.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pykeepalived.config import inventory
from pykeepalived.config.diagnostics import Diagnostic, Severity
from pykeepalived.config.inventory import Pair, Status
from pykeepalived.config.kaconf import alerting, bfd, extras, keywords, lvs
from pykeepalived.config.kaconf.mapping import Table
from pykeepalived.config.load import Syntax, check_config
from pykeepalived.config.semantic import StaticFileInspector

EXE = (stat.S_IFREG | 0o755, 0, 0)
DIR = (stat.S_IFDIR | 0o755, 0, 0)
FILE = (stat.S_IFREG | 0o600, 0, 0)
FS = StaticFileInspector({"/": DIR, "/bin": DIR, "/bin/true": EXE, "/usr": DIR, "/usr/bin": DIR,
                          **{f"/etc/ssl/{name}.pem": FILE for name in ("c", "ca", "k")}})


@dataclass(frozen=True)
class Context:
    """Where a block's keyword goes: the block's ``slot`` in :data:`BASE`, the lines that open (and
    the closing braces) of wrapper blocks around it, and default lines of the innermost block."""

    slot: str
    wrappers: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()


BASE = """\
global_defs {
    enable_script_security
    notification_email { ops@example.org }
    smtp_server 198.51.100.25
@global_defs
}
vrrp_track_process tp_a {
    process haproxy
}
vrrp_script chk_a {
    script /bin/true
@vrrp_script
}
track_file tf_a {
    file /run/tf_a
@track_file
}
bfd_instance bfd_a {
    neighbor_ip 198.51.100.2
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 198.51.100.10/24 }
@vrrp_instance
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {
        198.51.100.11/24
    }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    virtual_ipaddress {
        198.51.100.12/24
    }
}
vrrp_sync_group SG_1 {
    group { VI_2 VI_3 }
@vrrp_sync_group
}
virtual_server fwmark 7 {
    delay_loop 60
@virtual_server
    real_server 203.0.113.1 80 {
        SSL_GET { url { path / } }
@real_server
    }
}
@top
"""

CONTEXTS: dict[str, Context] = {
    "top": Context("top"),
    "global_defs": Context("global_defs"),
    "vrrp_script": Context("vrrp_script"),
    "track_file": Context("track_file"),
    "vrrp_instance": Context("vrrp_instance"),
    "vrrp_sync_group": Context("vrrp_sync_group"),
    "virtual_server": Context("virtual_server"),
    "real_server": Context("real_server"),
    "authentication": Context("vrrp_instance", ("authentication {",), ("auth_type PASS", "auth_pass secret")),
    "track_group": Context("top", ("track_group TG_1 {",), ("group { VI_1 }",)),
    "garp_group": Context("top", ("garp_group {",), ("interfaces { eth0 }",)),
    "vrrp_track_process": Context("top", ("vrrp_track_process tp_z {",), ("process haproxy",)),
    "bfd_instance": Context("top", ("bfd_instance bfd_z {",), ("neighbor_ip 198.51.100.3",)),
    "SSL": Context("top", ("SSL {",)),  # the base real server has an SSL_GET: the block is used
    "TCP_CHECK": Context("real_server", ("TCP_CHECK {",)),
    "HTTP_GET": Context("real_server", ("HTTP_GET {",), ("url { path / }",)),
    "SSL_GET": Context("real_server", ("SSL_GET {",), ("url { path / }",)),
    "DNS_CHECK": Context("real_server", ("DNS_CHECK {",), ("retry 1", "delay_before_retry 1")),
    "MISC_CHECK": Context("real_server", ("MISC_CHECK {",), ("misc_path /bin/true",)),
    "url": Context("real_server", ("HTTP_GET {", "url {"), ("path /", "regex OK")),
    "SMTP_CHECK": Context("real_server", ("SMTP_CHECK {",)),
    "UDP_CHECK": Context("real_server", ("UDP_CHECK {",), ("require_reply",)),
    "PING_CHECK": Context("real_server", ("PING_CHECK {",)),
    "FILE_CHECK": Context("real_server", ("FILE_CHECK {",), ("track_file tf_a",)),
    "BFD_CHECK": Context("real_server", ("BFD_CHECK {",), ("name bfd_a",)),
}
#: a keyword that is another spelling of a default line's keyword replaces that line
ALIASES = {"neighbour_ip": "neighbor_ip"}
#: option words: the entry line they belong to, inside its block
LINES = {
    "ip address option": ("virtual_ipaddress_excluded {", "198.51.100.20"),  # no prefix: peer gives it
    "unicast_peer option": ("unicast_peer {", "198.51.100.3"),
    "route option": ("virtual_routes {", "203.0.113.0/24"),
    "rule option": ("virtual_rules {", "priority 100 table 100"),
}
STATIC_LINES = {
    "ip address option": ("static_ipaddress {", "198.51.100.20/24 dev eth0"),
    "route option": ("static_routes {", "203.0.113.0/24 dev eth0"),
    "rule option": ("static_rules {", "priority 100 table 100 iif eth0"),
}


def render(pair: Pair) -> tuple[str, int, set[int]]:
    """The configuration text, the line of the keyword and the lines whose diagnostics count."""
    sample = pair.sample.replace("\\n", "\n")
    if pair.option and pair.keyword == "track_group":  # static entries only, with the group they name
        opener, entry = STATIC_LINES[pair.block]
        before, _, after = BASE.partition("@top\n")
        base_before = [ln for ln in before.splitlines() if not ln.startswith("@")]
        lines = [opener, f"{entry} track_group {sample}", "}",
                 f"track_group {sample} {{", "group { VI_1 }", "}"]
        start = len(base_before) + 1
        text_lines = [*base_before, *lines, *(ln for ln in after.splitlines() if not ln.startswith("@"))]
        return "\n".join(text_lines) + "\n", start + 1, {start, start + 1}
    if pair.option:
        opener, entry = LINES[pair.block]
        line = sample[1:] if sample.startswith("=") else f"{entry} {pair.keyword} {sample}".strip()
        context = Context("vrrp_instance", (opener,))
        body = [line]
    else:
        context = CONTEXTS[pair.block]
        first, _, rest = f"{pair.keyword} {sample}".partition("\n")
        body = [first, *(rest.splitlines() if rest else ()),
                *(d for d in context.lines if d.split()[0] not in (pair.keyword, ALIASES.get(pair.keyword)))]
    lines = [*context.wrappers, *body, *("}" for _ in context.wrappers)]
    before, _, after = BASE.partition(f"@{context.slot}\n")
    base_before = [ln for ln in before.splitlines()
                   if not ln.startswith("@") and not _replaced(ln, pair, context)]
    text_lines = [*base_before, *lines, *(ln for ln in after.splitlines() if not ln.startswith("@"))]
    start = len(base_before) + 1
    keyword_line = start + len(context.wrappers)
    counted = {keyword_line, *range(start, start + len(context.wrappers))}
    return "\n".join(text_lines) + "\n", keyword_line, counted


def _replaced(line: str, pair: Pair, context: Context) -> bool:
    """A default line of the block the keyword goes into, replaced by the keyword itself."""
    words = line.split()
    return bool(words) and not context.wrappers and not pair.option and words[0] == pair.keyword \
        and line.startswith("    ") and pair.block not in ("top",)


def diagnostics_for(pair: Pair, tmp_path: Path) -> tuple[list[Diagnostic], list[Diagnostic], str]:
    text, _line, counted = render(pair)
    conf = tmp_path / "keepalived.conf"
    conf.write_text(text)
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1", inspector=FS)
    here = [d for d in result.diagnostics if d.file == str(conf) and d.line in counted]
    return here, result.diagnostics, text


TESTED = [p for p in inventory.PAIRS if p.block != "language"]


@pytest.mark.parametrize("pair", TESTED, ids=lambda p: f"{p.block}:{p.keyword}")
def test_pair_gets_what_the_inventory_says(pair: Pair, tmp_path: Path) -> None:
    here, everything, text = diagnostics_for(pair, tmp_path)
    where = f"\n--- config ---\n{text}--- diagnostics ---\n" + "\n".join(
        f"{d.line}:{d.col}: {d.severity}: {d.message} [{d.code}]" for d in everything)
    assert not [d for d in everything if d.code == "unknown_keyword"], where
    if pair.status is Status.ACTED_ON:
        assert here == [], where
        assert not [d for d in everything if d.severity is Severity.ERROR], where
    elif pair.status is Status.NOT_APPLICABLE:
        assert [(d.severity, d.code, d.message) for d in here] == [
            (Severity.NOTE, "not_applicable", pair.message())], where
        assert not [d for d in everything if d.severity is Severity.ERROR], where
    elif pair.status is Status.REFUSED:
        assert [d for d in here if d.severity is Severity.ERROR], where
    else:
        assert [d for d in here if d.code == "not_implemented"], where
        assert not [d for d in here if d.severity is Severity.ERROR], where


#: every table of the reader, by the inventory block it reads
TABLES: dict[str, Table] = {
    "top": keywords.TOP, "global_defs": keywords.GLOBAL_DEFS, "vrrp_instance": keywords.VRRP_INSTANCE,
    "vrrp_sync_group": keywords.VRRP_SYNC_GROUP, "vrrp_script": keywords.VRRP_SCRIPT,
    "track_file": keywords.TRACK_FILE, "authentication": keywords.AUTHENTICATION,
    "virtual_server": lvs.VIRTUAL_SERVER, "real_server": lvs.REAL_SERVER, "url": lvs.URL,
    "TCP_CHECK": lvs.TCP_CHECK, "HTTP_GET": lvs.HTTP_GET, "SSL_GET": lvs.SSL_GET, "DNS_CHECK": lvs.DNS_CHECK,
    "MISC_CHECK": lvs.MISC_CHECK, "garp_group": extras.GARP_GROUP, "track_group": extras.TRACK_GROUP,
    "SSL": keywords.SSL, "vrrp_track_process": alerting.VRRP_TRACK_PROCESS, "UDP_CHECK": lvs.UDP_CHECK,
    "PING_CHECK": lvs.PING_CHECK, "SMTP_CHECK": lvs.SMTP_CHECK, "FILE_CHECK": lvs.FILE_CHECK,
    "bfd_instance": bfd.BFD_INSTANCE, "BFD_CHECK": bfd.BFD_CHECK,
}


@pytest.mark.parametrize("block", sorted(TABLES))
def test_every_keyword_the_reader_handles_is_in_the_inventory(block: str) -> None:
    table = TABLES[block]
    assert table.name == ("" if block == "top" else block)
    missing = sorted(set(table.keywords) - set(inventory.in_block(block)))
    assert missing == [], f"add rows for {missing} to inventory.tsv"


def test_acted_on_keywords_have_a_handler() -> None:
    """An ``acted_on`` row without a handler would be read past silently: the worst outcome."""
    for pair in inventory.PAIRS:
        if pair.status is Status.ACTED_ON and pair.block in TABLES:
            assert pair.keyword in TABLES[pair.block].keywords, pair


def test_the_inventory_counts() -> None:
    """keepalived 2.2.7's keyword pairs (options, syntax and other releases apart), each with a status."""
    counted = [p for p in inventory.PAIRS if p.counted]
    assert len(counted) == len({(p.block, p.keyword) for p in counted}) >= 470
    for pair in inventory.PAIRS:
        assert pair.status is Status.ACTED_ON or pair.detail, f"{pair} needs a reason or what is missing"
    for keyword in ("namespace_with_ipsets", "process_names", "process_name", "nftables_ipvs_priority",
                    "include_check", "disable_local_igmp"):
        assert inventory.lookup("global_defs", keyword) or inventory.lookup("top", keyword), keyword
    assert inventory.lookup("real_server", "snmp_name") and inventory.lookup("MISC_CHECK", "alpha")
    assert inventory.lookup("vrrp_instance", "lvs_sync_daemon_interface")


def test_the_keyword_table_of_the_docs_is_current() -> None:
    """docs/keepalived-conf.md's table is generated from inventory.tsv (scripts/gen_keyword_table.py)."""
    repo = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
    script = repo / "scripts" / "gen_keyword_table.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
