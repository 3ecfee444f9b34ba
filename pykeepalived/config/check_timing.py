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


_DEFAULT_RETRY = {"DNS_CHECK": 3, "MISC_CHECK": 0}
_DEFAULT_DELAY_BEFORE_RETRY_S = {"HTTP_GET": 3.0, "SSL_GET": 3.0}


def check_timing(vs: VirtualServer, rs: RealServer, checker: Checker) -> CheckTiming:
    """keepalived's defaults: delay_loop 60, connect_timeout 5, retry 1 (DNS 3, MISC 0),
    delay_before_retry 1 (HTTP/SSL 3, DNS = delay_loop), warmup = delay_loop.  A FILE_CHECK has no
    timing options: its file is read every ``FILE_CHECK_POLL_S``, and what it reads is its state."""
    if isinstance(checker, FileCheck):
        return CheckTiming(FILE_CHECK_POLL_S, FILE_CHECK_POLL_S, 0, 0.0, 0.0)
    kind = checker.kind
    # each value is the first one set of checker, real server, virtual server, default (first_set's
    # rule, written out: this runs for every checker of a big configuration)
    delay_loop = checker.delay_loop
    if delay_loop is None:
        delay_loop = rs.delay_loop if rs.delay_loop is not None else vs.delay_loop
    if delay_loop is None:
        delay_loop = 60.0
    connect_timeout: float | None
    if isinstance(checker, MiscCheck):
        connect_timeout = first_set(checker.misc_timeout, delay_loop)
    else:
        connect_timeout = checker.connect_timeout
        if connect_timeout is None:
            connect_timeout = rs.connect_timeout if rs.connect_timeout is not None else vs.connect_timeout
        if connect_timeout is None:
            connect_timeout = 5.0
    retry = checker.retry
    if retry is None:
        retry = rs.retry if rs.retry is not None else vs.retry
    if retry is None:
        retry = _DEFAULT_RETRY.get(kind, 1)
    dbr = checker.delay_before_retry
    if dbr is None:
        dbr = rs.delay_before_retry if rs.delay_before_retry is not None else vs.delay_before_retry
    if dbr is None:
        dbr = delay_loop if kind == "DNS_CHECK" else _DEFAULT_DELAY_BEFORE_RETRY_S.get(kind, 1.0)
    warmup = checker.warmup
    if warmup is None:
        warmup = rs.warmup if rs.warmup is not None else vs.warmup
    if warmup is None:
        warmup = delay_loop
    return CheckTiming(delay_loop, connect_timeout, retry, dbr, warmup)
