"""The block tree of keepalived.conf -> plain data in the YAML shape (docs/config.md), with positions.

The engine is table driven: every block kind has a :class:`Table` of the keywords it knows
(:mod:`.keywords`).  Each :class:`Keyword` says how many arguments it takes, whether it has a
``{ block }``, and a handler that writes plain data (dicts, lists, strings, numbers, booleans)
and records where each value came from.  Values are not validated here: a number that is not a
number is passed on as the text written, and the shared pydantic model reports it at the
recorded position, exactly as it would for YAML.

A keyword of keepalived 2.2.7 that has no handler here gets what the inventory
(:mod:`pykeepalived.config.inventory`) says: a ``not_applicable`` note or a ``not_implemented``
warning (never silently dropped, never fatal); a keyword nobody knows is an error with a "did you
mean" over the block's keywords.
Recursion depth is bounded by the tables (blocks nest at most five deep), not by the input.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pykeepalived.config import inventory
from pykeepalived.config.document import Node
from pykeepalived.config.kaconf.lexer import Issue, Pos, Severity, Token
from pykeepalived.config.kaconf.tree import Statement
from pykeepalived.config.source import PositionMap

DataPath = tuple[str | int, ...]
Data = dict[str, Node]


def list_at(out: Data, key: str) -> list[Node]:
    """``out[key]``, a list this reader made (created empty when absent)."""
    found = out.setdefault(key, [])
    if not isinstance(found, list):  # pragma: no cover - the tables write one shape per key
        raise TypeError(f"{key!r} holds {type(found).__name__}, not a list")
    return found


def map_at(out: Data, key: str) -> Data:
    """``out[key]``, a mapping this reader made (created empty when absent)."""
    found = out.setdefault(key, {})
    if not isinstance(found, dict):  # pragma: no cover - the tables write one shape per key
        raise TypeError(f"{key!r} holds {type(found).__name__}, not a mapping")
    return found


@dataclass(slots=True)
class Ctx:
    """What mapping collects: problems and the source position of every data path."""

    issues: list[Issue] = field(default_factory=list)
    positions: PositionMap = field(default_factory=PositionMap)
    #: run once the whole file is mapped, with the top-level data (keywords that write elsewhere)
    finish: list[Callable[[Data], None]] = field(default_factory=list)
    #: read ``KEYWORD VALUE`` lines inline (:func:`map_block`); False sends every line through
    #: :func:`apply`, the reference the tests compare the inline reading with
    inline: bool = True

    def error(self, code: str, message: str, pos: Pos, hint: str | None = None, path: DataPath = ()) -> None:
        self.issues.append(Issue(Severity.ERROR, code, message, pos, hint, path))

    def warning(self, code: str, message: str, pos: Pos, hint: str | None = None) -> None:
        self.issues.append(Issue(Severity.WARNING, code, message, pos, hint))

    def note(self, code: str, message: str, pos: Pos, hint: str | None = None) -> None:
        self.issues.append(Issue(Severity.NOTE, code, message, pos, hint))

    def not_implemented(self, token: Token, detail: str) -> None:
        """A word that is read but not acted on yet: a ``not_implemented`` warning, never silent."""
        self.warning("not_implemented", f"'{token.text}' is accepted but not implemented yet: {detail}",
                     token.pos)

    def outcome(self, pair: inventory.Pair, token: Token) -> None:
        """The inventory's diagnostic for a keyword read past: a note or a warning."""
        if pair.status is inventory.Status.NOT_APPLICABLE:
            self.note("not_applicable", pair.message(), token.pos)
        elif pair.status is inventory.Status.PENDING:
            self.warning("not_implemented", pair.message(), token.pos)

    def mark(self, path: DataPath, key: Pos, value: Pos | None = None) -> None:
        self.positions.set_both(path, key, value or key)

    def unsupported(self, token: Token, what: str = "keyword") -> None:
        self.warning(
            "unsupported_keyword", f"{what} '{token.text}' is not supported yet and is ignored", token.pos
        )


Handler = Callable[[Ctx, Statement, Data, DataPath], None]


@dataclass(frozen=True, slots=True)
class Keyword:
    """How one keyword is read.  ``max_args`` None = the rest of the statement.

    ``key`` and ``convert`` are set by :func:`value` (and :func:`word`, :func:`command`): the handler
    stores ``convert(argument)`` at ``key``, and :func:`map_block` does the same inline for a
    ``KEYWORD VALUE`` line (most lines of a big file) without the calls.
    """

    handler: Handler
    min_args: int = 0
    max_args: int | None = 0
    block: bool | None = False  # True: needs { }, False: must not have one, None: either
    key: str | None = None
    convert: Callable[[Token], Node] | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """The keywords of one block kind; ``unsupported`` are keepalived's keywords we warn about."""

    name: str
    keywords: Mapping[str, Keyword]
    unsupported: frozenset[str] = frozenset()

    def known(self) -> list[str]:
        return sorted({*self.keywords, *self.unsupported, *inventory.in_block(self.name)})

    def is_known(self, word: str) -> bool:
        return word in self.keywords or word in self.unsupported or word in inventory.in_block(self.name)


# -- the engine ------------------------------------------------------------------------------------


def split(statement: Statement, table: Table) -> list[Statement]:
    """Several keywords written on one line (``path / status_code 200``) -> one statement each.

    A new statement starts at a word that is a keyword of this block, once the current keyword
    has its ``min_args``; other words stay arguments (too many are reported later).  The
    ``{ block }``, if any, belongs to the last statement.
    """
    tokens = statement.tokens
    if len(tokens) <= 1:
        return [statement]
    first = table.keywords.get(tokens[0].text)
    if first is not None and len(tokens) - 1 <= first.min_args:
        return [statement]  # every word is a needed argument (``weight 1``): the common case
    parts: list[Statement] = []
    i = 0
    while i < len(tokens):
        spec = table.keywords.get(tokens[i].text)
        low = spec.min_args if spec is not None else 0
        high = spec.max_args if spec is not None else None
        j = i + 1
        while j < len(tokens):
            count, token = j - i - 1, tokens[j]
            if count >= low and not token.quoted and table.is_known(token.text):
                break
            if high is not None and count >= high and _looks_like_typo(token, table):
                break
            j += 1
        if i == 0 and j == len(tokens):
            return [statement]  # one keyword after all (``real_server IP PORT``): itself, not a copy
        parts.append(Statement(tokens[i:j]))
        i = j
    parts[-1].block = statement.block
    parts[-1].open_pos = statement.open_pos
    return parts


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def _looks_like_typo(token: Token, table: Table) -> bool:
    """A surplus word that reads like a misspelled keyword of the block starts a new statement."""
    return (
        not token.quoted
        and _IDENTIFIER.match(token.text) is not None
        and did_you_mean(token.text, table.known()) is not None
    )


def map_block(ctx: Ctx, statements: list[Statement], table: Table, out: Data, path: DataPath) -> None:
    """Apply ``table`` to every statement of a block, writing into ``out`` at ``path``."""
    keywords, inline = table.keywords, ctx.inline
    set_both = ctx.positions.set_both
    for statement in statements:
        tokens = statement.tokens
        spec = keywords.get(tokens[0].text)
        if spec is not None and spec.key is not None and len(tokens) == 2 and statement.block is None \
                and inline:
            # ``KEYWORD VALUE`` of a value keyword: what split, apply, _check_shape, the handler and
            # store do for it (one argument is never split off, the shape is right), inline
            key, keyword, argument = spec.key, tokens[0], tokens[1]
            if key in out:
                ctx.warning("duplicate_keyword", f"'{keyword.text}' is given again; the last one is used",
                            keyword.pos)
            out[key] = spec.convert(argument)  # type: ignore[misc]
            set_both((*path, key), keyword.pos, argument.pos)
            continue
        if spec is not None and inline and len(tokens) - 1 <= spec.min_args:
            # every word is a needed argument (``HTTP_GET {``, ``url {``, ``weight 1``): split keeps
            # the statement whole and apply checks its shape and calls the handler, done here
            if _check_shape(ctx, statement, spec, path):
                spec.handler(ctx, statement, out, path)
            continue
        for part in split(statement, table):
            apply(ctx, part, table, out, path)


def apply(ctx: Ctx, statement: Statement, table: Table, out: Data, path: DataPath) -> None:
    keyword = statement.tokens[0]
    spec = table.keywords.get(keyword.text)
    if spec is None:
        pair = inventory.lookup(table.name, keyword.text)
        if pair is not None and pair.status is not inventory.Status.ACTED_ON:
            ctx.outcome(pair, keyword)
        elif keyword.text in table.unsupported:
            ctx.unsupported(keyword)
        elif keyword.text:
            where = f" in {table.name}" if table.name else ""
            hint = did_you_mean(keyword.text, table.known())
            ctx.error("unknown_keyword", f"unknown keyword '{keyword.text}'{where}", keyword.pos, hint)
        return
    if not _check_shape(ctx, statement, spec, path):
        return
    spec.handler(ctx, statement, out, path)


def _check_shape(ctx: Ctx, statement: Statement, spec: Keyword, block_path: DataPath) -> bool:
    """True if the statement has the keyword's shape (surplus arguments are cut, with an error);
    errors are reported at the keyword's data path (``block_path`` + the keyword)."""
    tokens = statement.tokens
    name, count = tokens[0].text, len(tokens) - 1
    if spec.block is True and statement.block is None:
        ctx.error("syntax", f"'{name}' needs a {{ ... }} block", statement.pos, path=(*block_path, name))
        return False
    if spec.block is False and statement.block is not None:
        where = statement.open_pos or statement.pos
        ctx.error("syntax", f"'{name}' does not take a {{ ... }} block", where, path=(*block_path, name))
        return False
    if count < spec.min_args:
        need = "an argument" if spec.min_args == 1 else f"{spec.min_args} arguments"
        ctx.error("missing_argument", f"'{name}' needs {need}", statement.pos, path=(*block_path, name))
        return False
    if spec.max_args is not None and count > spec.max_args:
        extra = tokens[spec.max_args + 1]
        ctx.error("extra_argument", f"unexpected '{extra.text}' after '{name}'", extra.pos)
        # read what is valid, so the keyword does not also look missing
        del tokens[spec.max_args + 1 :]
    return True


def did_you_mean(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not matches:
        matches = difflib.get_close_matches(word.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
        matches = [c for c in choices if c.lower() in matches][:1]
    return f"did you mean '{matches[0]}'?" if matches else None


# -- scalar conversion -----------------------------------------------------------------------------

_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?\Z")
_BOOLS = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def number(token: Token) -> int | float | str:
    """``"10"`` -> 10, ``"0.5"`` -> 0.5; anything else stays text for the model to reject."""
    text = token.text
    if text.isdecimal() or _INT.match(text):  # isdecimal: what ``\d+`` matches, without the regex
        return int(text)
    if _FLOAT.match(text) and len(text) < 64:
        return float(text)
    return text


def boolean(token: Token) -> bool | str:
    return _BOOLS.get(token.text.lower(), token.text)


def text(token: Token) -> str:
    return token.text


def joined(tokens: list[Token]) -> str:
    """A command written as several words (``script /bin/check arg``) -> one string."""
    return " ".join(token.text for token in tokens)


# -- handler factories -----------------------------------------------------------------------------


def store(  # noqa: PLR0917 - every handler calls it the same way
    ctx: Ctx, statement: Statement, out: Data, path: DataPath, key: str, value: Node, where: Pos
) -> None:
    if key in out:
        ctx.warning(
            "duplicate_keyword",
            f"'{statement.keyword.text}' is given again; the last one is used",
            statement.pos,
        )
    out[key] = value
    ctx.mark((*path, key), statement.pos, where)


def value(key: str, convert: Callable[[Token], Node] = number) -> Keyword:
    """``keyword VALUE`` -> ``key: VALUE`` (numbers converted, the rest kept as text)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, convert(st.args[0]), st.args[0].pos)

    return Keyword(handler, 1, 1, key=key, convert=convert)


def word(key: str) -> Keyword:
    return value(key, text)


def command(key: str) -> Keyword:
    """``keyword CMD [ARGS...]`` -> ``key: "CMD ARGS"`` (scripts, paths)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, joined(st.args), st.args[0].pos)

    return Keyword(handler, 1, None, key=key, convert=text)  # one word: joined() is its text


def flag(key: str, when_set: bool = True) -> Keyword:
    """``keyword [on|off|yes|no|true|false]`` -> ``key: bool`` (``when_set`` False for negations)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        if not st.args:
            store(ctx, st, out, path, key, when_set, st.pos)
            return
        given = boolean(st.args[0])
        result = given if isinstance(given, str) else given == when_set
        store(ctx, st, out, path, key, result, st.args[0].pos)

    return Keyword(handler, 0, 1)


def section(key: str, table_of: Callable[[], Table]) -> Keyword:
    """``keyword { ... }`` -> ``key: {...}`` read with another table."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        existing = out.get(key)
        inner: Data = existing if isinstance(existing, dict) else {}
        out[key] = inner
        ctx.mark((*path, key), st.pos)
        map_block(ctx, st.block or [], table_of(), inner, (*path, key))

    return Keyword(handler, 0, 0, block=True)


Entry = Callable[[Ctx, Statement, DataPath], Node]


def entries(key: str, entry: Entry) -> Keyword:
    """``keyword { LINE LINE ... }`` -> ``key: [entry(LINE), ...]`` (one entry per line)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        existing = out.get(key)
        items: list[Node] = existing if isinstance(existing, list) else []
        out[key] = items
        ctx.mark((*path, key), st.pos)
        for line in st.block or []:
            if line.block is not None:
                ctx.error(
                    "syntax",
                    f"an entry of '{st.keyword.text}' does not take a {{ ... }} block",
                    line.open_pos or line.pos,
                )
                continue
            if not line.keyword.text:
                continue
            item_path = (*path, key, len(items))
            result = entry(ctx, line, item_path)
            if result is not None:
                ctx.mark(item_path, line.pos)
                items.append(result)

    return Keyword(handler, 0, 0, block=True)


def options(
    ctx: Ctx,
    st: Statement,
    first: int,
    known: Mapping[str, str | None],
    unsupported: Mapping[str, int],
    *,
    path: DataPath,
    block: str | None = None,
) -> Data | None:
    """``ITEM [opt VALUE] [switch] ...`` options after ``tokens[first]`` -> a dict.

    ``known`` maps an option word to its data key; a key of None means a switch (no value, True).
    ``unsupported`` maps option words to how many values they take (they are skipped with a
    ``not_implemented`` warning, whose text comes from the inventory's ``block`` rows when given).
    Returns None after an error.
    """
    result: Data = {}
    tokens = st.tokens
    i = first
    while i < len(tokens):
        token = tokens[i]
        word_ = token.text
        if word_ in known:
            key = known[word_]
            if key is None:
                result[word_] = True
                ctx.mark((*path, word_), token.pos)
                i += 1
                continue
            if i + 1 >= len(tokens):
                ctx.error("missing_argument", f"'{word_}' needs a value", token.pos)
                return None
            result[key] = number(tokens[i + 1]) if key in _NUMERIC_OPTIONS else tokens[i + 1].text
            ctx.mark((*path, key), token.pos, tokens[i + 1].pos)
            i += 2
        elif word_ in unsupported:
            pair = inventory.lookup(block, word_) if block is not None else None
            if pair is not None:
                ctx.not_implemented(token, pair.detail)
            else:
                ctx.unsupported(token, "option")
            i += 1 + unsupported[word_]
        else:
            hint = did_you_mean(word_, sorted({*known, *unsupported}))
            ctx.error("unknown_option", f"unknown option '{word_}'", token.pos, hint)
            return None
    return result


_NUMERIC_OPTIONS = frozenset(
    {"weight", "min_ttl", "max_ttl", "metric", "table", "id", "maxlen", "port", "ttl", "tcp", "tcpfin", "udp",
     "preferred_lft"}
)


def new_name(ctx: Ctx, st: Statement, out: Data, section_key: str) -> bool:
    """Registers ``st.args[0]`` as a new entry of a named section; False if it is a duplicate."""
    entries_ = map_at(out, section_key)
    name = st.args[0].text
    if name in entries_:
        first = ctx.positions.key((section_key, name))
        where = (
            f" (first defined at line {first.line})"
            if first is not None and first.file == st.pos.file
            else ""
        )
        ctx.error("duplicate_name", f"duplicate {st.keyword.text} '{name}'{where}", st.args[0].pos)
        return False
    ctx.mark((section_key,), st.pos)
    ctx.mark((section_key, name), st.pos, st.args[0].pos)
    return True
