"""Tokens of keepalived.conf, each with the file, line and column it came from.

keepalived's syntax is line based: words separated by white space, ``{`` and ``}`` as tokens of
their own, ``#`` or ``!`` outside quotes starting a comment, and ``"..."`` or ``'...'`` joining
words into one, with shell-like escapes inside (``\\n``, ``\\t``, ``\\xHH``, ``\\nnn``, ``\\cC``).

A :class:`SourceLine` is one logical line after preprocessing: its text plus a map from every
character offset back to where that character was written (continuation lines and ``$VAR``
substitutions make these differ from a plain column count).  This module is pure: no I/O.
"""

from __future__ import annotations

import bisect
import enum
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from pykeepalived.config.source import Position as Pos

__all__ = [
    "SPECIAL",
    "Issue",
    "Pos",
    "Severity",
    "SourceLine",
    "Span",
    "Token",
    "TokenKind",
    "comment_start",
    "is_plain",
    "replace_text",
    "special_lines",
    "tokenize",
    "tokenize_plain",
]


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found while reading keepalived.conf (converted to a Diagnostic by the caller)."""

    severity: Severity
    code: str
    message: str
    pos: Pos
    hint: str | None = None
    #: the data path of the keyword that was rejected, when known (lets the validator drop follow-on
    #: "missing required keyword" errors for a keyword that was written but could not be read)
    path: tuple[str | int, ...] = ()


class TokenKind(enum.Enum):
    WORD = "word"
    LBRACE = "{"
    RBRACE = "}"


class Token(NamedTuple):
    """One word or brace; ``quoted`` is true when it was written in quotes (never a brace then).

    An immutable tuple rather than a dataclass: a big configuration has hundreds of thousands.
    """

    kind: TokenKind
    text: str
    pos: Pos
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class Span:
    """Characters from ``offset`` on come from ``line``/``col``; ``advancing`` is false for
    substituted text, whose characters all point at the ``$`` that produced them."""

    offset: int
    line: int
    col: int
    advancing: bool = True


@dataclass(slots=True)
class SourceLine:
    """One logical line: its text and where each of its characters was written."""

    file: str
    text: str
    spans: list[Span] = field(default_factory=list)

    def pos_at(self, index: int) -> Pos:
        """The source position of character ``index`` (the end of the line for ``len(text)``)."""
        if not self.spans:
            return Pos(self.file, 1, index + 1)
        spans = self.spans
        if len(spans) == 1 or index < spans[1].offset:
            span = spans[0]
        else:
            span = spans[max(bisect.bisect_right(self._offsets(), index) - 1, 0)]
        delta = index - span.offset if span.advancing else 0
        return Pos(self.file, span.line, span.col + max(delta, 0))

    def _offsets(self) -> list[int]:
        return [span.offset for span in self.spans]

    def slice_from(self, start: int) -> SourceLine:
        """The line from ``text[start:]`` on, positions kept."""
        first = self.pos_at(start)
        spans = [Span(0, first.line, first.col, self._advancing_at(start))]
        for span in self.spans:
            if span.offset > start:
                spans.append(Span(span.offset - start, span.line, span.col, span.advancing))
        return SourceLine(self.file, self.text[start:], spans)

    def _advancing_at(self, index: int) -> bool:
        i = bisect.bisect_right(self._offsets(), index) - 1
        return self.spans[max(i, 0)].advancing if self.spans else True


_COMMENT_SCAN = re.compile(r"""["'#!]""")
_QUOTE_END = {'"': re.compile(r'(?:[^"\\]|\\.)*"', re.S), "'": re.compile(r"(?:[^'\\]|\\.)*'", re.S)}


def comment_start(text: str) -> int | None:
    """Offset of the first ``#`` or ``!`` outside quotes, or None."""
    if "#" not in text and "!" not in text:
        return None
    i = 0
    while True:
        match = _COMMENT_SCAN.search(text, i)
        if match is None:
            return None
        char = match.group()
        if char in "#!":
            return match.start()
        end = _QUOTE_END[char].match(text, match.end())
        if end is None:
            return None  # unterminated quote: the tokenizer reports it
        i = end.end()


# a word may contain ``${NAME}`` (an undefined parameter left as written), whose braces are not blocks
_WORD = r"""(?P<word>(?:[^\s{}"'$]+|\$\{[^\s{}"']*\}|\$)+)"""
_QUOTED = r"""(?P<dq>"(?:[^"\\]|\\.)*")|(?P<sq>'(?:[^'\\]|\\.)*')|(?P<open>["'])"""
_TOKEN = re.compile(rf"(?P<brace>[{{}}])|{_QUOTED}|{_WORD}", re.S)
_TOKEN_NO_BRACES = re.compile(rf"""{_QUOTED}|(?P<word>[^\s"']+)""", re.S)
_BRACE_KIND = {"{": TokenKind.LBRACE, "}": TokenKind.RBRACE}
# a line with none of these characters needs no preprocessing and has only plain words and braces
SPECIAL = r"""[#!\\@$~"']"""
"""The characters that make a line need preprocessing (a pattern; :func:`is_plain`)."""
_SPECIAL = re.compile(SPECIAL)
_PLAIN_TOKEN = re.compile(r"[{}]|[^\s{}]+")
_WORD_KIND = TokenKind.WORD


def is_plain(text: str) -> bool:
    """True if ``text`` has no comment, quote, continuation, ``@``, ``$`` or ``~``: it can be
    tokenized by :func:`tokenize_plain` without preprocessing."""
    return _SPECIAL.search(text) is None


def tokenize_plain(text: str, file: str, line: int) -> list[Token]:
    """The tokens of a physical line for which :func:`is_plain` holds (the fast path of big files).

    The same tokens as ``_PLAIN_TOKEN.finditer`` (each brace, and each run of other non-space
    characters), found with ``str.split``: a chunk between white space is one token unless it has a
    brace inside a longer word (``a{b``), which takes the regular expression.  Columns come from
    ``str.find`` after the previous token (only white space lies between chunks).
    """
    words = text.split()
    if "{" in text or "}" in text:
        for word in words:
            if len(word) > 1 and ("{" in word or "}" in word):
                return _tokenize_plain_regex(text, file, line)
    kind_of, new, find = _BRACE_KIND.get, tuple.__new__, text.find  # tuple.__new__: no NamedTuple __new__
    tokens = []
    end = 0
    for word in words:
        start = find(word, end)
        end = start + len(word)
        tokens.append(new(Token, (kind_of(word, _WORD_KIND), word, new(Pos, (file, line, start + 1)), False)))
    return tokens


def _tokenize_plain_regex(text: str, file: str, line: int) -> list[Token]:
    kind_of, new = _BRACE_KIND.get, tuple.__new__
    return [
        new(Token, (kind_of(word, _WORD_KIND), word, new(Pos, (file, line, match.start() + 1)), False))
        for match in _PLAIN_TOKEN.finditer(text)
        for word in (match.group(),)
    ]


def tokenize(line: SourceLine, issues: list[Issue], *, braces: bool = True) -> list[Token]:
    """Split one logical line into tokens; problems (unterminated quotes) go to ``issues``.

    With ``braces=False`` a ``{`` or ``}`` is part of a word (for ``include a{b,c}`` patterns).
    """
    text = line.text
    pattern = _TOKEN if braces else _TOKEN_NO_BRACES
    tokens: list[Token] = []
    simple = len(line.spans) == 1 and line.spans[0].advancing
    file, first = line.file, line.spans[0] if line.spans else Span(0, 1, 1)
    base = first.col - first.offset
    for match in pattern.finditer(text):
        start = match.start()
        pos = Pos(file, first.line, base + start) if simple else line.pos_at(start)
        kind = match.lastgroup
        if kind == "word":
            tokens.append(Token(TokenKind.WORD, match.group(), pos))
        elif kind == "brace":
            tokens.append(Token(_BRACE_KIND[match.group()], match.group(), pos))
        elif kind == "open":
            issues.append(
                Issue(Severity.ERROR, "unterminated_quote", f"unterminated {match.group()} quote", pos)
            )
            tokens.append(Token(TokenKind.WORD, unescape(text[start + 1 :]), pos, quoted=True))
            break
        else:
            tokens.append(Token(TokenKind.WORD, unescape(match.group()[1:-1]), pos, quoted=True))
    return tokens


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|c.|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}


def unescape(body: str) -> str:
    """Apply keepalived's shell-like escapes inside a quoted string."""
    if "\\" not in body:
        return body

    def replace(match: re.Match[str]) -> str:
        seq = match.group(1)
        if seq[0] == "x":
            return chr(int(seq[1:], 16))
        if seq[0] in "01234567":
            return chr(int(seq, 8) & 0xFF)
        if seq[0] == "c" and len(seq) == 2:
            return chr(ord(seq[1].upper()) & 0x1F)
        return _SIMPLE_ESCAPES.get(seq, seq)

    return _ESCAPE.sub(replace, body)


_SPECIAL_CHAR = re.compile(SPECIAL)
_SPECIAL_WORDS = ("include", "random_seed")
"""Words that send a line to the general path (an include; the seed of ``${_RANDOM}``)."""


def special_lines(text: str) -> list[int]:
    """0-based indexes of the lines of ``text`` (split at ``\\n``) that are not plain
    (:func:`~pykeepalived.config.kaconf.lexer.is_plain`) or mention ``include`` or ``random_seed``: one
    scan of the whole text for each (a character class, then each word), so the lines in between take the fast
    path without being looked at twice."""
    found: set[int] = set()
    count, find = text.count, text.find
    line, offset = 0, 0
    match = _SPECIAL_CHAR.search(text)
    while match is not None:
        start = match.start()
        line += count("\n", offset, start)
        found.add(line)
        offset = find("\n", start)
        if offset < 0:
            break
        match = _SPECIAL_CHAR.search(text, offset)
    for word in _SPECIAL_WORDS:
        line, offset = 0, 0
        start = find(word)
        while start >= 0:
            line += count("\n", offset, start)
            found.add(line)
            offset = find("\n", start)
            if offset < 0:
                break
            start = find(word, offset)
    return sorted(found)


def replace_text(line: SourceLine, replacements: list[tuple[int, int, str]]) -> SourceLine:
    """``line`` with ``text[start:end]`` replaced by ``value`` for each (start, end, value)."""
    offsets = [span.offset for span in line.spans]
    parts: list[str] = []
    spans: list[Span] = []
    length = 0
    cursor = 0

    def keep(start: int, end: int) -> None:
        nonlocal length
        if start >= end:
            return
        first = bisect.bisect_right(offsets, start) - 1
        where = line.pos_at(start)
        spans.append(Span(length, where.line, where.col, line.spans[max(first, 0)].advancing))
        for index in range(first + 1, bisect.bisect_left(offsets, end)):
            span = line.spans[index]
            spans.append(Span(length + span.offset - start, span.line, span.col, span.advancing))
        parts.append(line.text[start:end])
        length += end - start

    for start, end, value in replacements:
        keep(cursor, start)
        where = line.pos_at(start)
        spans.append(Span(length, where.line, where.col, advancing=False))
        parts.append(value)
        length += len(value)
        cursor = end
    keep(cursor, len(line.text))
    return SourceLine(line.file, "".join(parts), spans)
