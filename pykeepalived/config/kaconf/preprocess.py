"""keepalived.conf's preprocessor: files, includes, comments, ``@id`` lines and ``$VAR`` parameters.

Turns a top-level file into a flat list of token lines (each token knows its file, line and
column), the way keepalived's ``read_line`` does, in this order for every physical line:

1. the comment (``#`` or ``!`` outside quotes) is cut off;
2. a line ending in ``\\`` continues on the next line;
3. ``@ID rest`` keeps ``rest`` only if ID is the config id, ``@^ID rest`` only if it is not;
4. ``$NAME=value`` defines a parameter (stored unexpanded; expansion happens at use);
5. ``${NAME}`` and ``$NAME`` (followed by white space or the end) are replaced, recursively;
   undefined names stay as written, with a warning;
6. ``include PATTERN`` reads the files matching the glob (with csh ``{a,b}`` braces) relative
   to the including file's directory, in sorted order, anywhere in the file (even inside blocks);
   ``include_check [+|-]OPTIONS`` (and keepalived's ``-e``) turn a pattern that matches nothing into
   an error for the includes that follow in that file and the files it includes;
7. ``~SEQ(...)``, ``~SEQx(...)`` and ``~LST(...)`` at the start of a line read the rest of the line
   once per value of their variables (:mod:`.sequence`).

Everything is bounded (file size, total size, include depth, expansion depth, line length), so
no input makes it loop or exhaust memory; every problem becomes an :class:`Issue`.
Only :mod:`pathlib`/:mod:`glob` touch the file system; nothing else does I/O.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pykeepalived.config.kaconf import sequence
from pykeepalived.config.kaconf.include_checks import (
    INCLUDE_VARIANTS,
    expand_braces,
    include_checks,
)
from pykeepalived.config.kaconf.lexer import (
    Issue,
    Pos,
    Severity,
    SourceLine,
    Span,
    Token,
    comment_start,
    replace_text,
    special_lines,
    tokenize,
    tokenize_plain,
)
from pykeepalived.config.kaconf.random_numbers import RandomNumbers


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep hostile input from exhausting time or memory."""

    max_file_bytes: int = 32 * 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024
    max_files: int = 1000
    max_include_depth: int = 16
    max_expansion_depth: int = 16
    max_line_chars: int = 64 * 1024
    max_brace_expansions: int = 256
    max_repetitions: int = 100_000
    """Lines one ``~SEQ``/``~LST`` line may produce, and (x10) all of them in one configuration."""


@dataclass(slots=True)
class Preprocessed:
    """The result: token lines in reading order, every file read, and the problems found."""

    lines: list[list[Token]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    unreadable: bool = False





@dataclass(slots=True)
class _Frame:
    name: str
    lines: list[str]
    chain: tuple[Path, ...]
    index: int = 0
    include_check: frozenset[str] = frozenset()
    """Set by ``include_check`` in this file (or inherited from the file that included it)."""
    special: list[int] = field(default_factory=list)
    """Indexes of the lines that need the general path (``lexer.special_lines``), in order."""
    next_special: int = 0
    """Position in ``special`` of the first such line at or after ``index``."""


_DEFINITION = re.compile(r"\s*\$([A-Za-z_][A-Za-z0-9_]*)=(.*)\Z", re.S)
_CONDITION = re.compile(r"\s*@(\^?)(\S*)")
_REFERENCE = re.compile(
    r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\s+([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[\s\"'{}]|\Z)"
)
_INCLUDE = re.compile(r"\s*include[rmwba]?(?:\s|\Z)")
_SEQUENCE = re.compile(r"\s*~(SEQx?|LST)\(")


class _Reader:
    """State of one preprocessing run (kept out of module globals)."""

    def __init__(self, config_id: str | None, limits: Limits, include_check: frozenset[str],
                 random_seed: int | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.config_id = config_id
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        """What ``${_ENV NAME}`` reads (the reading process's environment, as keepalived's)."""
        self.random = RandomNumbers(random_seed)
        self.limits = limits
        self.out = Preprocessed()
        self.variables: dict[str, str] = {}
        self.total_bytes = 0
        self.stack: list[_Frame] = []
        self.include_check = include_check
        self.repeated = 0

    # -- files ---------------------------------------------------------------------------------

    def error(self, code: str, message: str, pos: Pos, hint: str | None = None) -> None:
        self.out.issues.append(Issue(Severity.ERROR, code, message, pos, hint))

    def warning(self, code: str, message: str, pos: Pos) -> None:
        self.out.issues.append(Issue(Severity.WARNING, code, message, pos))

    def open(self, path: Path, name: str, chain: tuple[Path, ...], at: Pos,
             checks: frozenset[str] = frozenset()) -> bool:
        """Read ``path`` and push it; False (with an issue) if it cannot be read."""
        if len(self.out.files) >= self.limits.max_files:
            self.error("include_limit", f"more than {self.limits.max_files} files included", at)
            return False
        try:
            size = path.stat().st_size
            if size > self.limits.max_file_bytes:
                limit = self.limits.max_file_bytes // (1024 * 1024)
                self.error("file_too_large", f"{name} is larger than the {limit} MiB limit", at)
                return False
            if self.total_bytes + size > self.limits.max_total_bytes:
                self.error("file_too_large", "included files exceed the total size limit", at)
                return False
            data = path.read_bytes()
        except FileNotFoundError:
            self.error("file_not_found", f"cannot read {name}: no such file", at)
            return False
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            self.error("file_unreadable", f"cannot read {name}: {reason}", at)
            return False
        except ValueError as exc:  # e.g. an embedded NUL in the path
            self.error("file_unreadable", f"cannot read {name}: {exc}", at)
            return False
        self.total_bytes += len(data)
        self.out.files.append(path)
        text = self._decode(data, name)
        lines = [raw.removesuffix("\r") for raw in text.split("\n")]
        self.stack.append(_Frame(name, lines, (*chain, _resolve(path)), 0, checks, special_lines(text)))
        return True

    def _decode(self, data: bytes, name: str) -> str:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            self.error(
                "encoding",
                f"the file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
                Pos(name, line, col),
            )
            text = data.decode("utf-8", errors="replace")
        nul = text.find("\x00")
        if nul >= 0:
            line = text.count("\n", 0, nul) + 1
            col = nul - (text.rfind("\n", 0, nul) + 1) + 1
            self.error(
                "binary_file",
                "the file contains NUL bytes; this is not a text configuration",
                Pos(name, line, col),
            )
        text = text.removeprefix("\ufeff")
        self.out.texts[name] = text
        return text

    # -- lines ---------------------------------------------------------------------------------

    def next_line(self, frame: _Frame) -> SourceLine:
        """The next logical line of ``frame``: comment cut, continuation lines joined."""
        text, spans = "", []
        while frame.index < len(frame.lines):
            lineno = frame.index + 1
            raw = frame.lines[frame.index]
            frame.index += 1
            cut = comment_start(raw)
            part = raw if cut is None else raw[:cut]
            spans.append(Span(len(text), lineno, 1))
            stripped = part.rstrip()
            if stripped.endswith("\\") and cut is None and len(text) < self.limits.max_line_chars:
                text += stripped[:-1]
                continue
            text += part
            break
        return SourceLine(frame.name, text, spans)

    def run(self, path: Path) -> Preprocessed:
        name = str(path)
        if not self.open(path, name, (), Pos(name, 1, 1), self.include_check):
            self.out.unreadable = True
            return self.out
        while self.stack:
            frame = self.stack[-1]
            self.plain_lines(frame)
            if frame.index >= len(frame.lines):
                self.stack.pop()
                continue
            self.handle(self.next_line(frame), frame)
        return self.out

    def plain_lines(self, frame: _Frame) -> None:
        """Tokenize the lines from ``frame.index`` on that need no preprocessing (no comment,
        quote, continuation, ``@``, ``$``, ``~``, include or random_seed), up to the next one that does.
        Most lines of a big file are like this; this is the same result as :meth:`handle`."""
        lines, index, name, out = frame.lines, frame.index, frame.name, self.out.lines
        special, at = frame.special, frame.next_special
        while at < len(special) and special[at] < index:
            at += 1
        frame.next_special = at
        stop = special[at] if at < len(special) else len(lines)
        limit = self.limits.max_line_chars
        while index < stop:
            raw = lines[index]
            if len(raw) > limit:
                break
            index += 1
            tokens = tokenize_plain(raw, name, index)
            if tokens:
                out.append(tokens)
        frame.index = index

    def handle(self, line: SourceLine, frame: _Frame) -> None:
        if not line.text.strip():
            return
        if len(line.text) > self.limits.max_line_chars:
            self.error(
                "line_too_long", f"line longer than {self.limits.max_line_chars} characters", line.pos_at(0)
            )
            return
        lead = line.text.lstrip()[:1]
        if lead == "@":
            cond = _CONDITION.match(line.text)
            if cond is None:  # pragma: no cover - '@' always matches
                return
            if not self.keep_conditional(cond.group(1) == "^", cond.group(2), line.pos_at(cond.start(2) - 1)):
                return
            line = line.slice_from(cond.end())
            lead = line.text.lstrip()[:1]
        if lead == "$":
            definition = _DEFINITION.match(line.text)
            if definition is not None:
                self.variables[definition.group(1)] = definition.group(2).strip()
                return
        if lead == "~" and _SEQUENCE.match(line.text):
            self.repeat(line, frame)
            return
        if "$" in line.text:
            line = self.expand(line, Path(frame.name).parent)
            lead = line.text.lstrip()[:1]
        if lead == "i" and _INCLUDE.match(line.text):
            self.include(tokenize(line, self.out.issues, braces=False), frame)
            return
        if lead == "r":
            self.random.saw(line.text)
        tokens = tokenize(line, self.out.issues)
        if tokens:
            if tokens[0].text == "include_check" and not tokens[0].quoted:
                frame.include_check = include_checks(frame.include_check, [t.text for t in tokens[1:]])
            self.out.lines.append(tokens)

    def repeat(self, line: SourceLine, frame: _Frame) -> None:
        """``~SEQ(...)``/``~LST(...)``: the rest of the line once per binding of the variables."""
        directory = Path(frame.name).parent

        def expand(text: str) -> str:
            return self.expand(SourceLine(line.file, text, [Span(0, *_at(line))]), directory).text

        budget = min(self.limits.max_repetitions, 10 * self.limits.max_repetitions - self.repeated)
        try:
            parsed = sequence.parse(line.text, expand, max(budget, 0))
        except sequence.SequenceError as exc:
            self.error("sequence", f"invalid line repetition: {exc}", line.pos_at(0))
            return
        if parsed is None:  # pragma: no cover - the caller checked the start
            return
        specs, offset = parsed
        rest = line.slice_from(offset)
        saved = {name: self.variables.get(name) for spec in specs for name in spec.names}
        for binding in sequence.bindings(specs):
            self.repeated += 1
            self.variables.update(binding)
            self.handle(rest, frame)
        for name, value in saved.items():  # the variables do not outlive the line
            if value is None:
                self.variables.pop(name, None)
            else:
                self.variables[name] = value

    def keep_conditional(self, negated: bool, ident: str, pos: Pos) -> bool:
        if not ident:
            self.error("syntax", "'@' must be followed by a config id", pos)
            return False
        matches = ident == self.config_id
        return not matches if negated else matches

    # -- parameters ----------------------------------------------------------------------------

    def expand(self, line: SourceLine, directory: Path) -> SourceLine:
        """Substitute ``$NAME``/``${NAME}`` until nothing changes; if it never stops (or grows too
        long), an issue and the line as written, so its keyword is still read."""
        original = line
        warned: set[str] = set()
        first = _REFERENCE.search(line.text)
        where = line.pos_at(first.start() if first is not None else 0)
        for _ in range(self.limits.max_expansion_depth):
            replacements: list[tuple[int, int, str]] = []
            for match in _REFERENCE.finditer(line.text):
                name = match.group(1) or match.group(3)
                value = self.lookup(name, directory, match.group(2), line.pos_at(match.start()))
                if value is not None:
                    replacements.append((match.start(), match.end(), value))
                elif name not in warned:
                    warned.add(name)
                    self.undefined(name, line.pos_at(match.start()))
            if not replacements:
                return line
            growth = sum(len(value) - (end - start) for start, end, value in replacements)
            if len(line.text) + growth > self.limits.max_line_chars:
                self.error("expansion_too_long", "parameter expansion makes the line too long", where)
                return original
            line = replace_text(line, replacements)
        self.error(
            "expansion_loop",
            f"parameter expansion does not stop after {self.limits.max_expansion_depth} rounds",
            where,
            "a definition probably refers to itself",
        )
        return original

    def lookup(self, name: str, directory: Path, params: str | None = None,
               pos: Pos | None = None) -> str | None:
        if name in self.variables:
            return self.variables[name]
        if name == "_RANDOM":
            try:
                return self.random.value(params or "")
            except ValueError as exc:
                if pos is not None:
                    self.error("random", str(exc), pos)
                return None
        if name == "_ENV":
            return self.environment(params, pos)
        builtins = {"_PWD": str(directory), "_HASH": "#", "_BANG": "!", "_INSTANCE": self.config_id or ""}
        return builtins.get(name)

    def environment(self, params: str | None, pos: Pos | None) -> str | None:
        """``${_ENV NAME}``: the variable's value, nothing when it is not set (keepalived's rule;
        a warning says so); None (left as written, an error) without exactly one name."""
        words = (params or "").split()
        if len(words) != 1:
            if pos is not None:
                self.error("environment", "${_ENV NAME} needs exactly one environment variable name", pos)
            return None
        value = self.environ.get(words[0])
        if value is None:
            if pos is not None:
                self.warning("environment_unset",
                             f"environment variable {words[0]} is not set: ${{_ENV {words[0]}}} is replaced "
                             "by nothing", pos)
            return ""
        return value

    def undefined(self, name: str, pos: Pos) -> None:
        if name == "_ENV":
            return  # reported by environment()
        self.warning(
            "undefined_variable", f"parameter ${name} is not defined and is left as written", pos
        )

    # -- include -------------------------------------------------------------------------------

    def include(self, tokens: list[Token], frame: _Frame) -> None:
        keyword = tokens[0]
        if len(tokens) < 2:
            self.error("syntax", f"'{keyword.text}' needs a file name or pattern", keyword.pos)
            return
        base = Path(frame.name).parent
        checks = frame.include_check | INCLUDE_VARIANTS.get(keyword.text[7:], set())
        found: list[tuple[Path, str, Pos]] = []
        for token in tokens[1:]:
            names = self.matches(token, base)
            self.check_matches(token, names, base, checks)
            found.extend((Path(name), name, token.pos) for name in names)
        if len(frame.chain) >= self.limits.max_include_depth and found:
            self.error(
                "include_depth",
                f"includes nested more than {self.limits.max_include_depth} deep",
                keyword.pos,
            )
            return
        # push in reverse so the first match is read first
        for path, name, pos in reversed(found):
            self.push_include(path, name, pos, frame.chain, frame.include_check)

    def check_matches(self, token: Token, names: list[str], base: Path, checks: frozenset[str]) -> None:
        """No match: a warning, or an error under ``include_check`` (``match`` unless the pattern has a
        wildcard, ``wildcard_match`` always); ``brace_match``: every ``{a,b}`` choice must match."""
        wildcard = any(c in token.text for c in "*?[")
        if not names:
            strict = "wildcard_match" in checks or ("match" in checks and not wildcard)
            message = f"include pattern '{token.text}' matches no file"
            if strict:
                self.error("include_no_match", message, token.pos, "include_check asks for a match")
            else:
                self.warning("include_no_match", message, token.pos)
            return
        if "brace_match" in checks and "{" in token.text:
            for choice in expand_braces(token.text, self.limits.max_brace_expansions):
                joined = choice if Path(choice).is_absolute() else str(base / choice)
                if not any(Path(name).is_file() for name in glob.glob(joined)):
                    self.error("include_no_match", f"include pattern '{choice}' (from '{token.text}') "
                               "matches no file", token.pos, "include_check brace_match asks for a match")

    def matches(self, token: Token, base: Path) -> list[str]:
        patterns = expand_braces(token.text, self.limits.max_brace_expansions)
        names: set[str] = set()
        for pattern in patterns:
            joined = pattern if Path(pattern).is_absolute() else str(base / pattern)
            try:
                names.update(name for name in glob.glob(joined) if Path(name).is_file())
            except (OSError, ValueError):
                continue
        return sorted(names)

    def push_include(self, path: Path, name: str, pos: Pos, chain: tuple[Path, ...],
                     checks: frozenset[str] = frozenset()) -> None:
        if _resolve(path) in chain:
            loop = " -> ".join([p.name for p in chain] + [path.name])
            self.error("include_loop", f"include loop: {loop}", pos, "remove the include that points back")
            return
        self.open(path, name, chain, pos, checks)


def _resolve(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return path.absolute()




def _at(line: SourceLine) -> tuple[int, int]:
    first = line.pos_at(0)
    return first.line, first.col


def preprocess(path: Path, *, config_id: str | None, limits: Limits | None = None,
               include_check: frozenset[str] = frozenset(),
               environ: Mapping[str, str] | None = None) -> Preprocessed:
    """Read ``path`` and everything it includes into token lines; never raises on bad input.
    ``include_check``: checks in force from the start (keepalived's ``-e``: all of them).

    ``${_RANDOM}`` draws from a generator seeded with the file's ``random_seed`` (wherever it is
    written: the file is read again with it if it came after a use), else from the system's entropy.
    ``${_ENV NAME}`` reads ``environ`` (default: this process's environment)."""
    reader = _Reader(config_id, limits or Limits(), include_check, environ=environ)
    out = reader.run(path)
    seed = reader.random.seed_to_reread()
    if seed is not None:
        out = _Reader(config_id, limits or Limits(), include_check, seed, environ).run(path)
    return out
