"""The fast path of keepalived.conf's plain lines reads exactly what the general path reads.

A line with no comment, quote, continuation, ``@``, ``$``, ``~`` or ``include`` is split with
``str.split`` (lexer.tokenize_plain), found by one scan of the file (lexer.special_lines), and its
common shapes (``keyword value``, ``}``, ``keyword args {``) are read inline by the block tree and the
mapping.  The oracle is the general path itself: the same line with `` #`` appended has the same
tokens at the same columns but is a comment-bearing line, which takes the general preprocessor and
tokenizer, and ``parse(..., inline=False)`` sends every line through the general tree and mapping
code.  So every file must read the same (data, every position, every diagnostic) both ways.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.diagnostics import Diagnostic
from pykeepalived.config.kaconf import parse
from pykeepalived.config.kaconf.keywords import GLOBAL_DEFS, VRRP_INSTANCE
from pykeepalived.config.kaconf.lexer import (
    SourceLine,
    Span,
    is_plain,
    special_lines,
    tokenize,
    tokenize_plain,
)
from pykeepalived.config.kaconf.lvs import HTTP_GET, REAL_SERVER, URL, VIRTUAL_SERVER
from pykeepalived.config.source import SourceResult
from pykeepalived.testing.positions import placed

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
SAMPLES = sorted((REPO / "tests" / "golden" / "configs").glob("kaconf*/*.conf"))


def slow_text(text: str) -> str:
    """``text`` with `` #`` after every plain line: the same tokens, read by the general path."""
    def commented(line: str) -> str:
        body = line.removesuffix("\r")
        if not body.strip() or not is_plain(body) or "include" in body:
            return line
        return body + " #" + line[len(body):]

    return "\n".join(commented(line) for line in text.split("\n"))


def read(text: str, directory: Path, *, inline: bool = True) -> SourceResult:
    path = directory / "k.conf"
    path.write_text(text, encoding="utf-8")
    return parse(path, config_id="lb1", inline=inline)


def without_source(diagnostics: list[Diagnostic]) -> list[tuple[object, ...]]:
    return [(d.severity, d.code, d.message, d.file, d.line, d.col, d.hint, d.path) for d in diagnostics]


def assert_same_reading(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fast = read(text, Path(tmp))
        slow = read(slow_text(text), Path(tmp), inline=False)
    assert fast.data == slow.data
    assert placed(fast.positions, fast.data) == placed(slow.positions, slow.data)
    assert without_source(fast.diagnostics) == without_source(slow.diagnostics)
    assert [d.source_line for d in fast.diagnostics] == [
        d.source_line.removesuffix(" #") if d.source_line else d.source_line for d in slow.diagnostics]


def test_every_golden_configuration_reads_the_same_on_both_paths() -> None:
    assert SAMPLES
    for sample in SAMPLES:
        text = sample.read_bytes().decode("utf-8", errors="replace")
        if "include" not in text:  # includes are relative to the sample's own directory
            assert_same_reading(text)


_KEYWORDS = sorted({*GLOBAL_DEFS.known(), *VRRP_INSTANCE.known(), *VIRTUAL_SERVER.known(),
                    *REAL_SERVER.known(), *HTTP_GET.known(), *URL.known()})
_VALUES = ["1", "80", "0.5", "-3", "1e3", "203.0.113.1", "198.51.100.1/24", "2001:db8::1", "eth0", "DR",
           "wlc", "TCP", "yes", "off", "/health", "200", "200-299", "x", ""]
_WORD = st.one_of(st.sampled_from(_KEYWORDS), st.sampled_from(_VALUES),
                  st.text(alphabet="ab1.:/-_", min_size=1, max_size=5))
_SPACE = st.sampled_from([" ", "  ", "\t", " \u00a0", "\u3000", "\x0b", "\x1c "])
_BRACE = st.sampled_from(["{", "}", "{}", "}{", "x{", "{x", "}x"])


@st.composite
def _line(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.one_of(_WORD, _BRACE), max_size=5))
    spaces = draw(st.lists(_SPACE, min_size=len(words) + 1, max_size=len(words) + 1))
    end = draw(st.sampled_from(["", "\r"]))
    return "".join(s + w for s, w in zip(spaces, [*words, ""], strict=True)) + end


@st.composite
def _config(draw: st.DrawFn) -> str:
    """Blocks that nest like real ones (virtual_server > real_server > HTTP_GET > url) with random
    lines inside, and random lines between them."""
    out: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        out.append(draw(_line()))
        out.append(f"virtual_server 203.0.113.{draw(st.integers(1, 3))} 80 {{")
        out += draw(st.lists(_line(), max_size=3))
        for _ in range(draw(st.integers(0, 2))):
            out.append(f"  real_server 198.51.100.{draw(st.integers(1, 3))} 80 {{")
            out += draw(st.lists(_line(), max_size=3))
            out += ["    HTTP_GET {", "      url {", *draw(st.lists(_line(), max_size=3)), "      }", "    }"]
            out.append(draw(st.sampled_from(["  }", "}", "", "  } extra"])))
        out.append(draw(st.sampled_from(["}", "", "} }", "}}"])))
    return "\n".join(out) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=300)
@given(_config())
def test_random_configurations_read_the_same_on_both_paths(text: str) -> None:
    assert_same_reading(text)


_PLAIN_CHARS = st.sampled_from(list("ab1/.:-_{} \t\u00a0\u2028\u3000\x0b\x0c\x1c\x1f\x85é\r"))


@given(st.text(alphabet=_PLAIN_CHARS, max_size=40))
def test_plain_tokens_are_the_general_tokens(text: str) -> None:
    assert tokenize_plain(text, "f", 7) == tokenize(SourceLine("f", text, [Span(0, 7, 1)]), [])


@given(st.lists(st.sampled_from(["a 1", "b {", "}", "a # c", "x 'y'", "inc include", "$X=1", "@id a", "",
                                 "\\", "~SEQ(x)", "é ü", "includes"]), max_size=12))
def test_the_special_lines_are_those_the_general_path_must_read(lines: list[str]) -> None:
    text = "\n".join(lines)
    expected = [i for i, line in enumerate(text.split("\n")) if not is_plain(line) or "include" in line]
    assert special_lines(text) == expected
