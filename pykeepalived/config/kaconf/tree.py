"""Nested ``keyword args { ... }`` blocks of keepalived.conf, with positions.

A :class:`Statement` is the words of one line up to a ``{``, a ``}`` or the end of the line;
a ``{`` gives the statement a block of child statements, closed by the matching ``}``.  Words
after a ``{`` or ``}`` on the same line start a new statement, so one-line blocks such as
``url { path / status_code 200 }`` work; splitting ``path / status_code 200`` into two
keywords needs the block's keyword table and happens in :mod:`.mapping`.  A ``{`` alone at the
start of a line opens the block of the statement on the line before, as keepalived allows.

Built with an explicit stack (no recursion) and a nesting limit, so no input can overflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pykeepalived.config.kaconf.lexer import Issue, Pos, Severity, Token, TokenKind

MAX_DEPTH = 32
_WORD = TokenKind.WORD
_LBRACE = TokenKind.LBRACE
_RBRACE = TokenKind.RBRACE


@dataclass(slots=True)
class Statement:
    """``tokens[0]`` is the keyword, ``tokens[1:]`` its arguments; ``block`` is None without braces."""

    tokens: list[Token]
    block: list[Statement] | None = None
    open_pos: Pos | None = None

    @property
    def keyword(self) -> Token:
        return self.tokens[0]

    @property
    def args(self) -> list[Token]:
        return self.tokens[1:]

    @property
    def pos(self) -> Pos:
        return self.tokens[0].pos


@dataclass(slots=True)
class _Level:
    body: list[Statement]
    opener: Statement | None = None
    skipping: int = 0  # depth of blocks nested beyond MAX_DEPTH that are being skipped


@dataclass(slots=True)
class _Builder:
    issues: list[Issue]
    stack: list[_Level] = field(default_factory=list)
    pending: list[Token] = field(default_factory=list)
    last_line_statement: Statement | None = None

    def flush(self) -> Statement | None:
        if not self.pending:
            return None
        statement = Statement(self.pending)
        self.pending = []
        if not self.stack[-1].skipping:
            self.stack[-1].body.append(statement)
        return statement

    def open_block(self, brace: Token, line_start: bool) -> None:
        level = self.stack[-1]
        statement = self.flush()
        if statement is None and line_start and self._can_adopt(level):
            statement = self.last_line_statement
        if level.skipping or len(self.stack) > MAX_DEPTH:
            if not level.skipping:
                self.issues.append(
                    Issue(Severity.ERROR, "nesting", f"blocks nested more than {MAX_DEPTH} deep", brace.pos)
                )
            level.skipping += 1
            return
        if statement is None:
            self.issues.append(Issue(Severity.ERROR, "syntax", "'{' without a keyword before it", brace.pos))
            statement = Statement([Token(TokenKind.WORD, "", brace.pos)])
        statement.block = []
        statement.open_pos = brace.pos
        self.stack.append(_Level(statement.block, statement))

    def _can_adopt(self, level: _Level) -> bool:
        last = self.last_line_statement
        return last is not None and last.block is None and bool(level.body) and level.body[-1] is last

    def close_block(self, brace: Token) -> None:
        self.flush()
        level = self.stack[-1]
        if level.skipping:
            level.skipping -= 1
        elif len(self.stack) == 1:
            self.issues.append(Issue(Severity.ERROR, "syntax", "'}' without a matching '{'", brace.pos))
        else:
            self.stack.pop()

    def line(self, tokens: list[Token]) -> None:
        for index, token in enumerate(tokens):
            if token.kind is TokenKind.LBRACE:
                self.open_block(token, line_start=index == 0)
            elif token.kind is TokenKind.RBRACE:
                self.close_block(token)
            else:
                self.pending.append(token)
        self.last_line_statement = self.flush()


def build(lines: list[list[Token]], issues: list[Issue], *, inline: bool = True) -> list[Statement]:
    """The top-level statements of the token lines; unbalanced braces become issues.

    The shapes of most lines of a big file are read here, inline, as :meth:`_Builder.line` reads
    them: ``keyword value``, ``}`` and ``keyword [args] {`` (no pending words are ever left between
    lines).  ``inline`` False: every line through ``line`` (the reference the tests compare with).
    """
    top: list[Statement] = []
    builder = _Builder(issues, [_Level(top)])
    stack, general = builder.stack, builder.line
    for tokens in lines:
        count = len(tokens)
        if not inline or not count:
            general(tokens)
            continue
        last, level = tokens[-1], stack[-1]
        if count == 2 and last.kind is _WORD and tokens[0].kind is _WORD:
            # ``keyword value``: one statement
            statement = Statement(tokens[:])
            if not level.skipping:
                level.body.append(statement)
            builder.last_line_statement = statement
            continue
        if count == 1 and last.kind is _RBRACE:
            if level.skipping:
                level.skipping -= 1
            elif len(stack) == 1:
                issues.append(Issue(Severity.ERROR, "syntax", "'}' without a matching '{'", last.pos))
            else:
                stack.pop()
            builder.last_line_statement = None
            continue
        if last.kind is not _LBRACE or count == 1 or level.skipping or len(stack) > MAX_DEPTH \
                or any(token.kind is not _WORD for token in tokens[:-1]):
            general(tokens)
            continue
        # ``keyword [args] {``: a statement opening a block
        block: list[Statement] = []
        statement = Statement(tokens[:-1], block, last.pos)
        level.body.append(statement)
        stack.append(_Level(block, statement))
        builder.last_line_statement = None
    for level in reversed(builder.stack[1:]):
        opener = level.opener
        if opener is not None and opener.open_pos is not None:
            name = opener.keyword.text or "block"
            issues.append(
                Issue(
                    Severity.ERROR,
                    "unclosed_block",
                    f"'{name}' block opened here is never closed",
                    opener.open_pos,
                    "add the missing '}'",
                )
            )
    return top
