"""A checker's timing after keepalived's inheritance: the checker's own, else its real server's, else
its virtual server's, else keepalived's per-checker default.  Re-exported by
:mod:`pykeepalived.config.model`."""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.config.model_checkers import FILE_CHECK_POLL_S, FileCheck
from pykeepalived.config.model_lvs import Checker, MiscCheck, RealServer, VirtualServer
from pykeepalived.config.types import first_set


@dataclass(frozen=True, slots=True)
class CheckTiming:
    """Resolved timing of one checker (checker, else real server, else virtual server, else default)."""

    delay_loop_s: float
    connect_timeout_s: float
    retry: int
    delay_before_retry_s: float
    warmup_s: float


def check_timing(vs: VirtualServer, rs: RealServer, checker: Checker) -> CheckTiming:
    """keepalived's defaults: delay_loop 60, connect_timeout 5, retry 1 (DNS 3, MISC 0),
    delay_before_retry 1 (HTTP/SSL 3, DNS = delay_loop), warmup = delay_loop.  A FILE_CHECK has no
    timing options: its file is read every ``FILE_CHECK_POLL_S``, and what it reads is its state."""
    if isinstance(checker, FileCheck):
        return CheckTiming(FILE_CHECK_POLL_S, FILE_CHECK_POLL_S, 0, 0.0, 0.0)
    delay_loop = first_set(checker.delay_loop, rs.delay_loop, vs.delay_loop, 60.0)
    default_retry = {"DNS_CHECK": 3, "MISC_CHECK": 0}.get(checker.kind, 1)
    default_dbr = {"HTTP_GET": 3.0, "SSL_GET": 3.0, "DNS_CHECK": delay_loop}.get(checker.kind, 1.0)
    if isinstance(checker, MiscCheck):
        connect_timeout = first_set(checker.misc_timeout, delay_loop)
    else:
        connect_timeout = first_set(checker.connect_timeout, rs.connect_timeout, vs.connect_timeout, 5.0)
    return CheckTiming(
        delay_loop_s=delay_loop,
        connect_timeout_s=connect_timeout,
        retry=first_set(checker.retry, rs.retry, vs.retry, default_retry),
        delay_before_retry_s=first_set(checker.delay_before_retry, rs.delay_before_retry,
                                       vs.delay_before_retry, default_dbr),
        warmup_s=first_set(checker.warmup, rs.warmup, vs.warmup, delay_loop),
    )
