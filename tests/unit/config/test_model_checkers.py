"""The checkers added for issue 12 in the config: UDP_CHECK, PING_CHECK, SMTP_CHECK (host blocks),
FILE_CHECK, the url regex options, real_server virtualhost, MISC_CHECK alpha/log_all_failures and the
SSL block -- both syntaxes load into the same model, and every rule is a positioned diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config
from pykeepalived.config.model import Config, FileCheck, PingCheck, SmtpCheck, UdpCheck, Url
from pykeepalived.config.model_checkers import parse_hex
from pykeepalived.config.regex import RegexOption
from pykeepalived.testing.files import RootOwnedScripts

FILES = RootOwnedScripts(missing=("missing",), path_dir="/usr/bin")


def check(tmp_path: Path, text: str, suffix: str = ".conf"):
    path = tmp_path / f"c{suffix}"
    path.write_text(text)
    syntax = Syntax.KEEPALIVED if suffix == ".conf" else Syntax.YAML
    return check_config(str(path), syntax=syntax, inspector=FILES)


def conf(real_server_body: str, top: str = "") -> str:
    return f"""{top}
virtual_server 198.51.100.50 53 {{
    delay_loop 30
    protocol UDP
    real_server 198.51.100.21 53 {{
{real_server_body}
    }}
}}
"""


def messages(result) -> list[str]:
    return [f"{d.line}:{d.code}:{d.message}" for d in result.diagnostics if d.severity.value == "error"]


# --- hex strings ----------------------------------------------------------------------------------


def test_hex_string_is_read_as_keepalived_reads_it():
    assert parse_hex("Ab12f 3 456 546443123") == (bytes.fromhex("AB120F0345065464431203"), None)
    assert parse_hex("0a\t0b") == (b"\x0a\x0b", None)
    assert parse_hex("1x x2", wildcards=True) == (b"\x10\x02", b"\x0f\xf0")
    for bad in ("", "  ", "zz", "1x"):
        with pytest.raises(ValueError):
            parse_hex(bad)


# --- UDP_CHECK ------------------------------------------------------------------------------------


def test_udp_check_keywords_in_both_syntaxes(tmp_path):
    body = """        UDP_CHECK {
            payload 00 01 ab
            require_reply 0x 01
            min_reply_length 2
            max_reply_length 64
            connect_port 5353
            bindto 198.51.100.2
            bind_port 4000
            connect_timeout 2
            retry 2
            delay_before_retry 0.5
            warmup 1
            log_all_failures
        }"""
    ka = check(tmp_path, conf(body))
    yaml = check(tmp_path, """
virtual_servers:
  - {ip: 198.51.100.50, port: 53, delay_loop: 30, protocol: UDP, real_servers: [{ip: 198.51.100.21, port: 53,
     UDP_CHECK: {payload: "00 01 ab", require_reply: "0x 01", min_reply_length: 2, max_reply_length: 64,
                 connect_port: 5353, bindto: 198.51.100.2, bind_port: 4000, connect_timeout: 2, retry: 2,
                 delay_before_retry: 0.5, warmup: 1, log_all_failures: true}}]}
""", ".yaml")
    assert messages(ka) == [] and messages(yaml) == []
    assert ka.config == yaml.config
    (udp,) = ka.config.virtual_servers[0].real_servers[0].UDP_CHECK
    assert udp.reply_lengths == (2, 64) and udp.require_reply == "0x 01"


@pytest.mark.parametrize(("data", "lengths"), [
    ({"require_reply": True}, None),  # keepalived checks no length without a pattern
    ({"require_reply": "01"}, (0, 255)),  # ... and 0..255 with one
    ({"require_reply": True, "min_reply_length": 4}, (4, 65535)),
    ({"require_reply": "01", "max_reply_length": 1000}, (0, 1000)),
    ({}, None),
])
def test_udp_reply_lengths(data, lengths):
    assert UdpCheck.model_validate(data).reply_lengths == lengths


def test_udp_check_errors_are_positioned(tmp_path):
    result = check(tmp_path, conf("""        UDP_CHECK {
            payload 0g
            require_reply 1z
        }
        UDP_CHECK {
            min_reply_length 3
        }
        UDP_CHECK {
            require_reply
            min_reply_length 10
            max_reply_length 5
        }
        UDP_CHECK {
            require_reply ab
            min_reply_length 300
            max_reply_length 70000
        }"""))
    assert messages(result) == [
        "7:hex_string:payload: 'g' is not a hex digit",
        "8:hex_string:require_reply: 'z' is not a hex digit or x",
        "11:require_reply:'min_reply_length' needs 'require_reply' (without it no reply is read)",
        "15:reply_length:min_reply_length 10 is above max_reply_length 5: the check could never pass",
        "21:less_than_equal:'max_reply_length' should be less than or equal to 65535, got 70000",
    ]


# --- PING_CHECK -----------------------------------------------------------------------------------


def test_ping_check_ports_are_read_and_noted(tmp_path):
    """keepalived 2.2.7 reads PING_CHECK's connect_port and bind_port (its common checker keywords):
    so does pykeepalived, with a note that ICMP has no ports (the inventory's not_applicable)."""
    result = check(tmp_path, conf("""        PING_CHECK {
            connect_ip 198.51.100.22
            connect_port 80
            bind_port 99
        }"""))
    assert messages(result) == []
    assert [(d.line, d.code) for d in result.diagnostics if d.severity.value == "note"] == [
        (8, "not_applicable"), (9, "not_applicable")]
    assert PingCheck.model_validate({"connect_ip": "2001:db8::1", "bind_if": "eth0", "fwmark": 3}).fwmark == 3


def test_link_local_targets_need_bind_if(tmp_path):
    result = check(tmp_path, conf("""        PING_CHECK {
            connect_ip fe80::1
        }
        PING_CHECK {
            connect_ip fe80::1
            bind_if eth0
        }"""))
    assert [d.code for d in result.errors] == ["link_local_needs_bind_if"]
    assert result.errors[0].line == 6


# --- SMTP_CHECK -----------------------------------------------------------------------------------


def test_smtp_check_with_host_blocks(tmp_path):
    result = check(tmp_path, conf("""        SMTP_CHECK {
            helo_name "mx.example.org"
            host {
                connect_ip 198.51.100.22
                connect_port 2525
                connect_timeout 2
                retry 4
            }
            host {
                bindto 198.51.100.2
            }
        }"""))
    assert messages(result) == []
    assert [d.code for d in result.warnings] == ["host_timing"]
    assert result.warnings[0].line == 12
    (smtp,) = result.config.virtual_servers[0].real_servers[0].SMTP_CHECK
    assert smtp.helo_name == "mx.example.org" and smtp.retry == 4  # host-level retry acts on the checker
    assert [str(h.connect_ip) for h in smtp.host] == ["198.51.100.22", "None"]
    assert not smtp.connection_set
    assert SmtpCheck().helo_name == "smtpchecker.keepalived.org"


def test_smtp_host_rejects_non_connection_keywords(tmp_path):
    result = check(tmp_path, conf("""        SMTP_CHECK {
            host {
                helo_name x
            }
        }"""))
    assert [d.code for d in result.errors] == ["unknown_keyword"]


def test_smtp_helo_name_cannot_smuggle_commands():
    with pytest.raises(ValueError, match="helo_name"):
        SmtpCheck.model_validate({"helo_name": "a\r\nMAIL FROM:<x>"})


# --- FILE_CHECK -----------------------------------------------------------------------------------

TRACK = """track_file SWITCH {
    file /run/switch
    weight 5 reverse
}"""


def test_file_check_keywords(tmp_path):
    result = check(tmp_path, conf("""        FILE_CHECK {
            track_file SWITCH
        }
        FILE_CHECK {
            track_file SWITCH
            weight -3 reverse
        }
        FILE_CHECK {
            track_file SWITCH
            weight 2147483647 noreverse
        }""", TRACK))
    assert messages(result) == []
    checks = result.config.virtual_servers[0].real_servers[0].FILE_CHECK
    assert [(c.weight, c.reverse) for c in checks] == [(None, None), (-3, True), (2147483647, False)]
    assert FileCheck.model_validate("SWITCH").track_file == "SWITCH"


def test_file_check_errors(tmp_path):
    result = check(tmp_path, conf("""        FILE_CHECK {
            track_file NOPE
        }
        FILE_CHECK {
            weight 1
        }
        FILE_CHECK {
            track_file SWITCH
            weight 2147483648
        }
        FILE_CHECK {
            track_file SWITCH
            weight 1 backwards
        }
        FILE_CHECK {
            track_file SWITCH
            reverse
        }""", TRACK))
    codes = [(d.line, d.code) for d in result.errors]
    assert sorted(codes) == [
        (12, "missing"),  # a FILE_CHECK without its track_file
        (17, "less_than_equal"),
        (21, "unknown_option"),
        (25, "unknown_keyword"),  # reverse is an option of weight, not a keyword
    ]  # no unknown_track_file: semantic checks run only on a valid model


def test_unknown_track_file_is_an_error_with_a_hint(tmp_path):
    result = check(tmp_path, conf("""        FILE_CHECK {
            track_file SWITCHH
        }""", TRACK))
    (err,) = result.errors
    assert (err.line, err.code, err.hint) == (10, "unknown_track_file", "did you mean 'SWITCH'?")


# --- url regex ------------------------------------------------------------------------------------


def test_url_regex_keywords(tmp_path):
    result = check(tmp_path, conf("""        HTTP_GET {
            url {
                path /health
                regex "^ready$"
                regex_options caseless multiline utf
                regex_stack 32768 65536
                regex_min_offset 10
                regex_max_offset 100
            }
        }"""))
    assert messages(result) == []
    url = result.config.virtual_servers[0].real_servers[0].HTTP_GET[0].url[0]
    assert url.regex_options == (RegexOption.CASELESS, RegexOption.MULTILINE, RegexOption.UTF)
    assert (url.regex_stack, url.regex_min_offset, url.regex_max_offset) == ((32768, 65536), 10, 100)
    url = Url.model_validate({"path": "/", "regex": "x", "regex_options": "dotall caseless"})
    assert url.regex_options == (RegexOption.DOTALL, RegexOption.CASELESS)


def test_url_regex_errors_are_positioned(tmp_path):
    result = check(tmp_path, conf("""        HTTP_GET {
            url {
                path /a
                regex "(unclosed"
            }
            url {
                path /b
                regex ok
                regex_options caseless ungreedy
            }
            url {
                path /c
                regex ok
                regex_options nosuch
            }
            url {
                path /d
                regex_no_match
            }
            url {
                path /e
                regex ok
                regex_min_offset 10
                regex_max_offset 5
            }
            url {
                path /f
                regex ok
                regex_stack 10 5
            }
        }"""))
    found = [(d.line, d.code, d.message) for d in result.errors]
    assert found[0][:2] == (9, "regex") and "invalid regex" in found[0][2]
    assert found[1][:2] == (14, "regex") and "'ungreedy' cannot be honoured" in found[1][2]
    assert found[2][:2] == (19, "enum")
    assert found[3] == (23, "regex", "'regex_no_match' needs a 'regex' in the same url")
    assert found[4] == (28, "regex", "regex_min_offset 10 is beyond regex_max_offset 5")
    assert found[5] == (34, "regex", "regex_stack: the start size is above the maximum")


# --- real_server virtualhost, MISC_CHECK alpha/log_all_failures ----------------------------------


def test_real_server_virtualhost_and_misc_options(tmp_path):
    result = check(tmp_path, conf("""        virtualhost rs.example.org
        MISC_CHECK {
            misc_path /usr/bin/true
            alpha
            log_all_failures
        }"""))
    assert messages(result) == []
    rs = result.config.virtual_servers[0].real_servers[0]
    assert rs.virtualhost == "rs.example.org"
    assert rs.MISC_CHECK[0].alpha is True and rs.MISC_CHECK[0].log_all_failures is True


# --- SSL ------------------------------------------------------------------------------------------


def test_ssl_block(tmp_path):
    ssl_get = """        SSL_GET {
            url {
                path /
            }
        }"""
    result = check(tmp_path, conf(ssl_get, "SSL {\n    ca /etc/ca.pem\n    certificate /etc/c.pem\n"
                                           "    key /etc/k.pem\n    password s3cret\n}"))
    assert messages(result) == [] and result.warnings == []
    ssl = result.config.ssl
    assert (ssl.ca, ssl.certificate, ssl.key, ssl.password) == (
        "/etc/ca.pem", "/etc/c.pem", "/etc/k.pem", "s3cret")
    yaml = check(tmp_path, """
ssl: {ca: /etc/ca.pem, certificate: /etc/c.pem, key: /etc/k.pem, password: s3cret}
virtual_servers:
  - {ip: 198.51.100.50, port: 53, delay_loop: 30, protocol: UDP,
     real_servers: [{ip: 198.51.100.21, port: 53, SSL_GET: {url: [{path: /}]}}]}
""", ".yaml")
    assert yaml.config == result.config


def test_ssl_block_errors(tmp_path):
    result = check(tmp_path, conf("", "SSL {\n    ca /missing/ca.pem\n    key /etc/k.pem\n}"))
    assert [(d.line, d.code) for d in result.errors] == [(3, "ssl")]
    result = check(tmp_path, conf("", "SSL {\n    ca /missing/ca.pem\n    bogus x\n}"))
    found = sorted((d.line, d.code) for d in result.errors)
    assert found == [(2, "ssl_file_missing"), (3, "unknown_keyword")]
    result = check(tmp_path, conf("", "SSL {\n    ca /missing/ca.pem\n}"))
    found = sorted((d.line, d.code) for d in result.diagnostics)
    assert found == [(1, "ssl_unused"), (2, "ssl_file_missing")]


def test_new_checkers_are_no_longer_unsupported(tmp_path):
    result = check(tmp_path, conf("""        UDP_CHECK {
        }
        PING_CHECK {
        }
        SMTP_CHECK {
        }
        virtualhost x"""))
    assert result.diagnostics == []
    rs = result.config.virtual_servers[0].real_servers[0]
    assert [c.kind for c in rs.checkers] == ["UDP_CHECK", "PING_CHECK", "SMTP_CHECK"]


def test_config_from_python_data():
    config = Config.model_validate({"virtual_servers": [{"ip": "198.51.100.50", "port": 25, "real_servers": [
        {"ip": "198.51.100.21", "SMTP_CHECK": {"host": {"connect_port": 2525}}}]}]})
    assert config.virtual_servers[0].real_servers[0].SMTP_CHECK[0].host[0].connect_port == 2525
