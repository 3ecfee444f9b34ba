"""The ``regex`` of an HTTP_GET/SSL_GET ``url``: keepalived's PCRE2 options on Python's ``re``.

keepalived compiles a url's ``regex`` with PCRE2 and the ``regex_options`` named in
keepalived.conf(5).  Here every option either maps onto an ``re`` flag, changes nothing that a match
can observe (so it is honoured as it is), or cannot be honoured and is **refused** with the reason:

* mapped: ``caseless`` (``re.IGNORECASE``), ``dotall`` (``re.DOTALL``), ``multiline``
  (``re.MULTILINE``), ``extended`` (``re.VERBOSE``), ``utf`` and ``ucp`` (the body is decoded as UTF-8
  and matched as text, with Unicode character classes; a body that is not UTF-8 does not match, as
  PCRE2 reports a UTF error), ``firstline`` (the match must start in the first line);
* honoured as they are: ``never_utf`` and ``never_ucp`` (bytes and ASCII classes are the default),
  ``never_backslash_c`` (``re`` has no ``\\C``), ``alt_verbnames`` (``re`` has no verbs),
  ``auto_callout`` and ``use_offset_limit`` (keepalived sets no callout function and no offset limit,
  so they change nothing there either), ``no_auto_possess``, ``no_start_optimize``,
  ``no_dotstar_anchor`` (optimisation switches: the same matches), ``dupnames`` (a pattern that does
  use a name twice fails to compile, with ``re``'s message);
* refused: ``allow_empty_class``, ``alt_bsux``, ``alt_circumflex``, ``dollar_endonly``,
  ``match_unset_backref``, ``no_auto_capture`` and ``ungreedy``.

Without ``dotall`` a ``.`` does not match a newline (PCRE2's default, and keepalived's).  The match
must start at or after ``regex_min_offset`` and at or before ``regex_max_offset`` (byte offsets into
the body; keepalived's meaning).  Pure: no I/O.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class RegexOption(enum.StrEnum):
    """Every PCRE2 option keepalived's ``regex_options`` knows."""

    ALLOW_EMPTY_CLASS = "allow_empty_class"
    ALT_BSUX = "alt_bsux"
    AUTO_CALLOUT = "auto_callout"
    CASELESS = "caseless"
    DOLLAR_ENDONLY = "dollar_endonly"
    DOTALL = "dotall"
    DUPNAMES = "dupnames"
    EXTENDED = "extended"
    FIRSTLINE = "firstline"
    MATCH_UNSET_BACKREF = "match_unset_backref"
    MULTILINE = "multiline"
    NEVER_UCP = "never_ucp"
    NEVER_UTF = "never_utf"
    NO_AUTO_CAPTURE = "no_auto_capture"
    NO_AUTO_POSSESS = "no_auto_possess"
    NO_DOTSTAR_ANCHOR = "no_dotstar_anchor"
    NO_START_OPTIMIZE = "no_start_optimize"
    UCP = "ucp"
    UNGREEDY = "ungreedy"
    UTF = "utf"
    NEVER_BACKSLASH_C = "never_backslash_c"
    ALT_CIRCUMFLEX = "alt_circumflex"
    ALT_VERBNAMES = "alt_verbnames"
    USE_OFFSET_LIMIT = "use_offset_limit"


_FLAGS = {
    RegexOption.CASELESS: re.IGNORECASE,
    RegexOption.DOTALL: re.DOTALL,
    RegexOption.MULTILINE: re.MULTILINE,
    RegexOption.EXTENDED: re.VERBOSE,
}
REFUSED = {
    RegexOption.ALLOW_EMPTY_CLASS: "Python's re reads '[]' as the start of a class, not an empty class",
    RegexOption.ALT_BSUX: "Python's re has no JavaScript-style \\U, \\u and \\x escapes",
    RegexOption.ALT_CIRCUMFLEX: "Python's re cannot let '^' match after a final newline",
    RegexOption.DOLLAR_ENDONLY: "Python's re always lets '$' match before a final newline (use \\Z)",
    RegexOption.MATCH_UNSET_BACKREF: "Python's re never lets a back reference to an unset group match",
    RegexOption.NO_AUTO_CAPTURE: "Python's re always numbers plain groups (write (?:...) instead)",
    RegexOption.UNGREEDY: "Python's re has no switch that inverts greediness (write the '?' per "
                          "quantifier instead)",
}
"""The options that cannot be honoured, with why (a config error names it)."""
_CONFLICTS = ((RegexOption.UTF, RegexOption.NEVER_UTF), (RegexOption.UCP, RegexOption.NEVER_UCP))


@dataclass(frozen=True, slots=True)
class UrlRegex:
    """A compiled url ``regex``: :meth:`found` says whether the body has a match where allowed.

    ``binary`` is the pattern matched on the body's bytes; with ``utf``/``ucp`` it is ``text``,
    matched on the body decoded as UTF-8 (exactly one of them is set)."""

    binary: re.Pattern[bytes] | None
    text: re.Pattern[str] | None = None
    min_offset: int = 0
    max_offset: int | None = None  # inclusive: the last byte offset a match may start at
    firstline: bool = False

    @property
    def pattern(self) -> str:
        """The pattern as written."""
        if self.text is not None:
            return self.text.pattern
        assert self.binary is not None
        return self.binary.pattern.decode("utf-8")

    def found(self, body: bytes) -> bool:
        """Is there a match starting within ``[min_offset, max_offset]`` (and in the first line
        after ``min_offset`` with ``firstline``)?  ``re`` finds the leftmost match at or after the
        start, so one search answers it."""
        if self.min_offset > len(body):
            return False
        if self.binary is None:
            return self._found_text(body)
        match = self.binary.search(body, self.min_offset)
        if match is None:
            return False
        return self._allowed(match.start(), body.find(b"\n", self.min_offset))

    def _found_text(self, body: bytes) -> bool:
        """``utf``/``ucp``: the body as UTF-8 text; offsets stay byte offsets, as in PCRE2."""
        assert self.text is not None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return False  # PCRE2 reports a UTF error: no match
        start = len(body[:self.min_offset].decode("utf-8", "ignore"))
        match = self.text.search(text, start)
        if match is None:
            return False
        newline = text.find("\n", start)
        byte_start = len(text[:match.start()].encode("utf-8"))
        byte_newline = -1 if newline < 0 else len(text[:newline].encode("utf-8"))
        return self._allowed(byte_start, byte_newline)

    def _allowed(self, start: int, first_newline: int) -> bool:
        if self.max_offset is not None and start > self.max_offset:
            return False
        return not (self.firstline and 0 <= first_newline < start)


class RegexConfigError(ValueError):
    """A url's regex settings cannot be honoured; ``key`` names the keyword at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def check_url_regex(regex: str | None, options: tuple[RegexOption, ...], *, stack: tuple[int, int] | None,
                    min_offset: int | None, max_offset: int | None, no_match: bool) -> None:
    """Every rule of a url's regex keywords (RegexConfigError for the first broken one): the tuning
    keywords need a ``regex``; the stack's start is not above its maximum; the pattern compiles."""
    if regex is None:
        if no_match is False and options == () and stack is None and min_offset is None \
                and max_offset is None:
            return  # nothing given (every url of a big configuration): what the loop below finds
        given = {"regex_no_match": no_match, "regex_options": options, "regex_stack": stack,
                 "regex_min_offset": min_offset, "regex_max_offset": max_offset}
        for key, value in given.items():
            if value not in (None, False, ()):
                raise RegexConfigError(key, f"'{key}' needs a 'regex' in the same url")
        return
    if stack is not None and stack[0] > stack[1]:
        raise RegexConfigError("regex_stack", "regex_stack: the start size is above the maximum")
    compile_url_regex(regex, options, min_offset=min_offset or 0, max_offset=max_offset)


def compile_url_regex(pattern: str, options: tuple[RegexOption, ...] = (), *, min_offset: int = 0,
                      max_offset: int | None = None) -> UrlRegex:
    """Compile ``pattern`` with keepalived's ``regex_options``; RegexConfigError (a ValueError) says
    what cannot be done (an option that cannot be honoured, two that contradict each other, offsets
    reversed, a pattern ``re`` rejects)."""
    chosen = set(options)
    for option in options:
        if option in REFUSED:
            raise RegexConfigError("regex_options",
                                   f"regex option '{option}' cannot be honoured: {REFUSED[option]}")
    for one, other in _CONFLICTS:
        if one in chosen and other in chosen:
            raise RegexConfigError("regex_options",
                                   f"regex options '{one}' and '{other}' contradict each other")
    flags = 0
    for option in chosen:
        flags |= _FLAGS.get(option, 0)
    text_mode = RegexOption.UTF in chosen or RegexOption.UCP in chosen
    if max_offset is not None and min_offset > max_offset:
        raise RegexConfigError("regex_min_offset",
                               f"regex_min_offset {min_offset} is beyond regex_max_offset {max_offset}")
    firstline = RegexOption.FIRSTLINE in chosen
    try:
        if text_mode:
            return UrlRegex(None, re.compile(pattern, flags), min_offset, max_offset, firstline)
        return UrlRegex(re.compile(pattern.encode("utf-8"), flags), None, min_offset, max_offset, firstline)
    except re.error as exc:
        raise RegexConfigError("regex", f"invalid regex: {exc}") from None
