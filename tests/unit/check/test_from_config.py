"""check.from_config: config checkers -> probe specs and timings (inheritance and keepalived defaults)."""

from __future__ import annotations

from ipaddress import ip_address

from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.probes import DnsSpec, HttpSpec, MiscSpec, TcpSpec
from pykeepalived.config.model import Config
from pykeepalived.config.script_security import script_identity


def cfg(**data):
    return Config.model_validate(data)


def vs(real_servers, **kw):
    return {"ip": "203.0.113.10", "port": 80, "real_servers": real_servers, **kw}


def test_tcp_check_defaults_and_inheritance():
    c = cfg(virtual_servers=[vs([
        {"ip": "198.51.100.1", "TCP_CHECK": {}},
        {"ip": "198.51.100.2", "port": 8080, "retry": 4, "TCP_CHECK": {
            "connect_ip": "198.51.100.9", "connect_port": 81, "bindto": "198.51.100.250", "bind_port": 4000,
            "connect_timeout": 2}},
    ], delay_loop=6)])
    first, second = checks_from_config(c)
    assert first.rs.rs_name == "198.51.100.1:80" and first.rs.vs_name == "[203.0.113.10]:tcp:80"
    (check,) = first.checkers
    assert isinstance(check.probe, TcpSpec)
    assert check.probe.endpoint.ip == ip_address("198.51.100.1") and check.probe.endpoint.port == 80
    t = check.timing
    assert (t.delay_loop_s, t.connect_timeout_s, t.retry, t.delay_before_retry_s, t.warmup_s, t.alpha) == (
        6.0, 5.0, 1, 1.0, 6.0, False)
    ep = second.checkers[0].probe.endpoint
    assert (str(ep.ip), ep.port, str(ep.bindto), ep.bind_port, ep.timeout_s) == (
        "198.51.100.9", 81, "198.51.100.250", 4000, 2.0)
    assert second.checkers[0].timing.retry == 4
    assert (second.rs.vs_index, second.rs.rs_index) == (0, 1)


def test_http_and_ssl_get():
    c = cfg(virtual_servers=[vs([{"ip": "198.51.100.1", "HTTP_GET": {
        "url": [{"path": "/a", "digest": "ABCDEF0123456789ABCDEF0123456789",
                 "status_code": ["200", "300-302"]},
                {"path": "/b", "virtualhost": "b.example", "regex": "ok", "regex_no_match": True}],
        "nb_get_retry": 2}, "SSL_GET": {"url": [{"path": "/"}], "enable_sni": True}}],
        virtualhost="vs.example")])
    (rs,) = checks_from_config(c)
    http, tls = rs.checkers
    assert isinstance(http.probe, HttpSpec) and not http.probe.tls
    a, b = http.probe.urls
    assert a.digest == "abcdef0123456789abcdef0123456789"
    assert 301 in a.status and 200 in a.status and 250 not in a.status
    assert 250 in b.status and b.virtualhost == "b.example" and b.regex_no_match
    assert http.probe.virtualhost == "vs.example"
    assert http.timing.retry == 2 and http.timing.delay_before_retry_s == 3.0  # HTTP default dbr
    assert tls.probe.tls and tls.probe.sni_name == "vs.example" and tls.kind == "SSL_GET"


def test_misc_and_dns():
    c = cfg(global_defs={"enable_script_security": True, "script_user": "nobody"},
            virtual_servers=[vs([{"ip": "198.51.100.1",
                                  "MISC_CHECK": [{"misc_path": "/bin/check 'a b' c", "misc_dynamic": True},
                                                 {"misc_path": "relative.sh"}],
                                  "DNS_CHECK": {"type": "A", "name": "www.example."}}], delay_loop=9)])
    (rs,) = checks_from_config(c, inspector=lambda path: None)
    misc, relative, dns = rs.checkers
    assert isinstance(misc.probe, MiscSpec)
    assert misc.probe.argv == ("/bin/check", "a b", "c") and misc.probe.dynamic
    assert misc.probe.timeout_s == 9.0 and misc.timing.retry == 0  # MISC defaults
    assert misc.probe.identity == script_identity("nobody") and misc.probe.insecure is None
    assert relative.probe.insecure == "'relative.sh' is not an absolute path"
    assert isinstance(dns.probe, DnsSpec) and (dns.probe.qtype, dns.probe.qname) == ("A", "www.example.")
    assert dns.timing.retry == 3 and dns.timing.delay_before_retry_s == 9.0


def test_script_security_marks_unsafe_scripts():
    c = cfg(global_defs={"enable_script_security": True},
            virtual_servers=[vs([{"ip": "198.51.100.1", "MISC_CHECK": {"misc_path": "/opt/x.sh"}}])])
    (rs,) = checks_from_config(c, inspector=lambda path: "/opt")
    assert rs.checkers[0].probe.insecure == "'/opt' can be modified by a non-root user"
    off = cfg(virtual_servers=[vs([{"ip": "198.51.100.1", "MISC_CHECK": {"misc_path": "/opt/x.sh"}}])])
    (rs,) = checks_from_config(off, inspector=lambda path: "/opt")
    assert rs.checkers[0].probe.insecure is None


def test_alpha_inheritance_and_no_checkers():
    c = cfg(virtual_servers=[vs([{"ip": "198.51.100.1", "TCP_CHECK": [{}, {"alpha": False}]},
                                 {"ip": "198.51.100.2"}], alpha=True)])
    with_checks, without = checks_from_config(c)
    assert [x.timing.alpha for x in with_checks.checkers] == [True, False]
    assert without.checkers == ()


def test_bad_misc_command_is_a_failing_check():
    c = cfg(virtual_servers=[vs([{"ip": "198.51.100.1", "MISC_CHECK": {"misc_path": "/bin/x 'unclosed"}}])])
    (rs,) = checks_from_config(c)
    assert rs.checkers[0].probe.argv == () and "cannot split" in rs.checkers[0].probe.insecure


def test_log_all_failures_and_source_options():
    c = cfg(virtual_servers=[vs([{"ip": "198.51.100.1",
                                  "TCP_CHECK": {"log_all_failures": True, "bind_if": "eth1", "fwmark": 9},
                                  "MISC_CHECK": {"misc_path": "/bin/true"}}])])
    (rs,) = checks_from_config(c)
    tcp, misc = rs.checkers
    assert tcp.log_all_failures and not misc.log_all_failures
    assert (tcp.probe.endpoint.bind_if, tcp.probe.endpoint.fwmark) == ("eth1", 9)


def test_omega_reaches_the_checks() -> None:
    c = Config.model_validate({
        "virtual_servers": [{"ip": "203.0.113.10", "port": 80, "omega": True, "real_servers": [
            {"ip": "198.51.100.1", "notify_down": "down.sh", "TCP_CHECK": {}}, {"ip": "198.51.100.2"}]}]})
    first, second = checks_from_config(c, inspector=lambda _path: None)
    assert first.omega and second.omega
