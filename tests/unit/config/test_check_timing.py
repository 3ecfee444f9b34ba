"""config.check_timing: a checker's timing is the first value set of checker, real server, virtual
server, keepalived's per-checker default -- for every mix of values set at each level."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.config.model import MiscCheck, VirtualServer, check_timing
from pykeepalived.config.types import first_set

_KINDS = ("TCP_CHECK", "HTTP_GET", "SSL_GET", "DNS_CHECK", "MISC_CHECK", "UDP_CHECK", "PING_CHECK")
"""Every checker with timing (FILE_CHECK has none: its file is polled every second)."""
_BODY: dict[str, dict[str, Any]] = {"HTTP_GET": {"url": [{"path": "/"}]}, "SSL_GET": {"url": [{"path": "/"}]},
                                    "MISC_CHECK": {"misc_path": "/bin/true"}}
_TIMING_KEYS = ("delay_loop", "connect_timeout", "retry", "delay_before_retry", "warmup")


@st.composite
def _level(draw: st.DrawFn, keys: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        values = st.integers(0, 9) if key == "retry" else st.sampled_from([0.5, 2, 7, 60])
        value = draw(st.one_of(st.none(), values))
        if value is not None:
            out[key] = value
    return out


def _reference(vs: Any, rs: Any, checker: Any) -> tuple[float, float, int, float, float]:
    """The rule as docs/checks.md states it, with first_set at every step."""
    kind = checker.kind
    delay_loop = first_set(checker.delay_loop, rs.delay_loop, vs.delay_loop, 60.0)
    if isinstance(checker, MiscCheck):
        connect_timeout = first_set(checker.misc_timeout, delay_loop)
    else:
        connect_timeout = first_set(checker.connect_timeout, rs.connect_timeout, vs.connect_timeout, 5.0)
    default_retry = {"DNS_CHECK": 3, "MISC_CHECK": 0}.get(kind, 1)
    default_dbr = delay_loop if kind == "DNS_CHECK" else {"HTTP_GET": 3.0, "SSL_GET": 3.0}.get(kind, 1.0)
    return (delay_loop, connect_timeout, first_set(checker.retry, rs.retry, vs.retry, default_retry),
            first_set(checker.delay_before_retry, rs.delay_before_retry, vs.delay_before_retry, default_dbr),
            first_set(checker.warmup, rs.warmup, vs.warmup, delay_loop))


@given(kind=st.sampled_from(_KINDS), vs_timing=_level(_TIMING_KEYS), rs_timing=_level(_TIMING_KEYS),
       checker_timing=_level(("delay_loop", "retry", "delay_before_retry", "warmup")),
       checker_timeout=_level(("connect_timeout",)), misc_timeout=_level(("misc_timeout",)))
def test_timing_is_the_first_value_set_at_each_level(
        kind: str, vs_timing: dict[str, Any], rs_timing: dict[str, Any], checker_timing: dict[str, Any],
        checker_timeout: dict[str, Any], misc_timeout: dict[str, Any]) -> None:
    body = dict(_BODY.get(kind, {}))
    if kind == "MISC_CHECK":
        body.update(checker_timing, **misc_timeout)
    else:
        body.update(checker_timing, **checker_timeout)
    vs = VirtualServer.model_validate({"ip": "203.0.113.1", "port": 80, **vs_timing,
                                       "real_servers": [{"ip": "198.51.100.1", **rs_timing, kind: body}]})
    rs = vs.real_servers[0]
    (checker,) = rs.checkers
    t = check_timing(vs, rs, checker)
    got = (t.delay_loop_s, t.connect_timeout_s, t.retry, t.delay_before_retry_s, t.warmup_s)
    expected = _reference(vs, rs, checker)
    assert got == expected
