"""Judging one HTTP_GET/SSL_GET URL from the bytes of its response, without I/O.

:class:`ResponseCheck` feeds whatever the connection delivers to aiohttp's own response parser
(``aiohttp.http_parser.HttpResponseParser``: llhttp in C, or aiohttp's pure-Python twin when the
extension is missing), so no HTTP is parsed by hand: status line, headers, ``Content-Length``,
``Transfer-Encoding: chunked`` and close-delimited bodies are aiohttp's job.  On top of it: skip
``1xx`` interim responses, check the status against ``status_code``, and only when a ``digest`` or
``regex`` needs the body, hash it (MD5, incrementally, as it arrives), keep it for the regex, and
stop as soon as it passes the size cap.

The transport (``http.py``) calls :meth:`ResponseCheck.feed` with each chunk received and
:meth:`ResponseCheck.feed_eof` when the peer closes, and stops as soon as :attr:`done` is set;
:attr:`reason` is then None (the URL passed) or why it failed -- the same phrases the
ClientSession-based probe used: ``status 500``, ``digest mismatch <md5>``, ``regex did not match``,
``regex matched``, ``body larger than N bytes`` (prefixed with the URL's path), and ``bad response:
<aiohttp's message>``, ``bad body``, ``server disconnected`` (not prefixed).

What was seen is kept too: :attr:`ResponseCheck.status` (the final status code), :attr:`length`
(body bytes read) and :attr:`md5` (hex digest of the whole body, when it was hashed).  A
:meth:`UrlCheck.measure` check hashes the body without judging it: ``pykeepalived genhash`` reports
its digest through the very exchange the checker makes.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

from aiohttp.base_protocol import BaseProtocol
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.http_parser import HttpResponseParser
from aiohttp.streams import StreamReader

from pykeepalived.check.probes import USER_AGENT, StatusSet, UrlSpec
from pykeepalived.config.regex import UrlRegex, compile_url_regex

ParserClass = type[HttpResponseParser]  # the C parser when aiohttp's extension is built
_PARSER_LIMIT = 1 << 16  # aiohttp's default stream limit (it only drives flow control, disabled here)
ANY_STATUS = StatusSet(((0, 999),))  # every code a status line can carry


@dataclass(frozen=True, slots=True)
class UrlCheck:
    """One URL of a checker, compiled once: the request bytes, the regex, the expected digest."""

    url: UrlSpec
    request: bytes
    regex: UrlRegex | None
    digest: str | None  # lowercase
    hash_body: bool = False  # read and hash the body even with no digest to compare (genhash)

    @classmethod
    def build(cls, url: UrlSpec, target: str, host: str, http_version: str) -> UrlCheck:
        """``target`` is the request target (path and query, already percent-encoded).  ValueError
        when the regex cannot be compiled (the config check reports it first)."""
        regex = None
        if url.regex:
            regex = compile_url_regex(url.regex, url.regex_options, min_offset=url.regex_min_offset,
                                      max_offset=url.regex_max_offset)
        return cls(url, build_request(target, host, http_version), regex,
                   url.digest.lower() if url.digest is not None else None)

    @classmethod
    def measure(cls, path: str, target: str, host: str, http_version: str) -> UrlCheck:
        """What genhash fetches: the checker's request for ``target``, any status accepted, the body
        hashed (:attr:`ResponseCheck.md5`) and judged by nothing but the size cap."""
        url = UrlSpec(path, status=ANY_STATUS)
        return cls(url, build_request(target, host, http_version), None, None, hash_body=True)

    @property
    def needs_body(self) -> bool:
        return self.hash_body or self.digest is not None or self.regex is not None


def build_request(target: str, host: str, http_version: str) -> bytes:
    """keepalived's request: ``GET target HTTP/1.x``, ``Host``, ``User-Agent: KeepAliveClient`` and
    ``Connection: close`` for ``1.0C`` and ``1.1`` (HTTP/1.0 closes by default).  ValueError when the
    target or host would break the request line or a header (whitespace, control or non-ASCII)."""
    for what, value in (("path", target), ("virtualhost", host)):
        if not value or not value.isascii() or not value.isprintable() or " " in value:
            raise ValueError(f"{what} {value!r} cannot go into an HTTP request")
    version = "1.1" if http_version == "1.1" else "1.0"
    lines = [f"GET {target} HTTP/{version}", f"Host: {host}", f"User-Agent: {USER_AGENT}"]
    if http_version != "1.0":
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class _NoFlowControl(BaseProtocol):
    """What aiohttp's body stream calls to pause/resume reading: nothing to do, every chunk is
    consumed as soon as it is parsed."""

    __slots__ = ()

    def pause_reading(self) -> None:
        pass

    def resume_reading(self, resume_parser: bool = True) -> None:
        pass


class ResponseCheck:
    """The verdict on one URL's response, fed chunk by chunk (see the module docstring)."""

    __slots__ = ("_chunks", "_md5", "_parser", "_payload", "cap", "check", "done", "length", "md5", "reason",
                 "status")

    def __init__(self, check: UrlCheck, cap_bytes: int, loop: asyncio.AbstractEventLoop,
                 parser_class: ParserClass = HttpResponseParser) -> None:
        self.check = check
        self.cap = cap_bytes
        self.done = False
        self.reason: str | None = None
        self.status: int | None = None  # the final (non-1xx) status code, once its headers are in
        self.length = 0  # body bytes read so far
        self.md5: str | None = None  # hex MD5 of the complete body, when it was hashed
        # read_until_eof: a body with neither Content-Length nor chunked runs to the close (as the
        # aiohttp client reads it); auto_decompress off: the digest is of the raw body
        self._parser: HttpResponseParser = parser_class(
            protocol=_NoFlowControl(loop), loop=loop, limit=_PARSER_LIMIT, read_until_eof=True,
            auto_decompress=False)
        self._payload: StreamReader | None = None
        hashing = check.digest is not None or check.hash_body
        self._md5 = hashlib.md5(usedforsecurity=False) if hashing else None
        self._chunks: list[bytes] | None = [] if check.regex is not None else None

    def feed(self, data: bytes) -> None:
        """Parse the next chunk of the response; sets :attr:`done` once there is a verdict."""
        if self.done:
            return
        try:
            messages, _upgraded, _tail = self._parser.feed_data(data)
        except Exception as exc:  # anything the parser raises on hostile bytes
            self._parse_error(exc)
            return
        if self._payload is None:
            for message, payload in messages:
                if 100 <= message.code < 200 and message.code != 101:
                    continue  # interim response (100 Continue ...): the real one follows
                self._headers(message.code, payload)
                break
            if self._payload is None:
                return
        self._drain()

    def feed_eof(self) -> None:
        """The peer closed the connection: a close-delimited body ends here, anything else is cut."""
        if self.done:
            return
        if self._payload is None:
            self._finish("server disconnected")
            return
        try:
            self._parser.feed_eof()
        except Exception:  # Content-Length or chunked body cut short
            self._finish("bad body")
            return
        self._drain()
        if not self.done:
            self._finish("bad body")

    def _parse_error(self, exc: Exception) -> None:
        if self._payload is not None:
            self._finish("bad body")
        elif isinstance(exc, HttpProcessingError):
            self._finish(f"bad response: {exc.message}")
        else:
            self._finish(f"bad response: {type(exc).__name__}")

    def _headers(self, code: int, payload: StreamReader) -> None:
        self.status = code
        if code not in self.check.url.status:
            self._finish(f"{self.check.url.path}: status {code}")
        elif not self.check.needs_body:
            self._finish(None)
        else:
            self._payload = payload

    def _drain(self) -> None:
        """Take what the parser put into the body stream; judge the URL once the body is complete."""
        payload = self._payload
        assert payload is not None
        try:
            chunk = payload.read_nowait(-1)
        except Exception:  # the parser set a body error on the stream
            self._finish("bad body")
            return
        if chunk:
            self.length += len(chunk)
            if self.length > self.cap:
                self._finish(f"{self.check.url.path}: body larger than {self.cap} bytes")
                return
            if self._md5 is not None:
                self._md5.update(chunk)
            if self._chunks is not None:
                self._chunks.append(chunk)
        if payload.is_eof():
            self._finish(self._judge_body())

    def _judge_body(self) -> str | None:
        check, path = self.check, self.check.url.path
        if self._md5 is not None:
            got = self.md5 = self._md5.hexdigest()
            if check.digest is not None and got != check.digest:
                return f"{path}: digest mismatch {got}"
        if check.regex is not None and self._chunks is not None:
            matched = check.regex.found(b"".join(self._chunks))
            if matched == check.url.regex_no_match:
                return f"{path}: regex {'matched' if check.url.regex_no_match else 'did not match'}"
        return None

    def _finish(self, reason: str | None) -> None:
        self.done = True
        self.reason = reason
        self._payload = None
        self._chunks = None
