"""keepalived.conf lexer, preprocessor and block tree: tokens, positions, includes, parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, strategies

from pykeepalived.config.kaconf.include_checks import expand_braces
from pykeepalived.config.kaconf.lexer import (
    Issue,
    Pos,
    Severity,
    SourceLine,
    Span,
    TokenKind,
    comment_start,
    is_plain,
    tokenize,
    tokenize_plain,
)
from pykeepalived.config.kaconf.preprocess import Limits, preprocess
from pykeepalived.config.kaconf.tree import MAX_DEPTH, Statement, build


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def words(path: Path, config_id: str | None = None) -> list[list[str]]:
    result = preprocess(path, config_id=config_id)
    return [[token.text for token in line] for line in result.lines]


def issues(path: Path, config_id: str | None = None) -> list[tuple[str, str, int, int]]:
    result = preprocess(path, config_id=config_id)
    build(result.lines, result.issues)
    return [(i.severity.value, i.code, i.pos.line, i.pos.col) for i in result.issues]


def line(text: str) -> SourceLine:
    return SourceLine("f", text, [Span(0, 1, 1)])


# -- lexer -------------------------------------------------------------------------------------


def test_tokens_carry_positions_and_braces_are_their_own_tokens() -> None:
    found: list[Issue] = []
    tokens = tokenize(line("  url {path / }"), found)
    assert [(t.kind, t.text, t.pos.col) for t in tokens] == [
        (TokenKind.WORD, "url", 3),
        (TokenKind.LBRACE, "{", 7),
        (TokenKind.WORD, "path", 8),
        (TokenKind.WORD, "/", 13),
        (TokenKind.RBRACE, "}", 15),
    ]
    assert found == []


def test_quotes_join_words_and_apply_escapes() -> None:
    found: list[Issue] = []
    tokens = tokenize(line("""script "/bin/check a\\tb \\x41\\101 \\"q\\"" 'x { y }'"""), found)
    assert [t.text for t in tokens] == ["script", '/bin/check a\tb AA "q"', "x { y }"]
    assert [t.quoted for t in tokens] == [False, True, True]


def test_unterminated_quote_is_an_error_at_the_quote() -> None:
    found: list[Issue] = []
    tokens = tokenize(line('notify "/bin/x arg'), found)
    assert tokens[-1].text == "/bin/x arg"
    assert [(i.code, i.pos.col) for i in found] == [("unterminated_quote", 8)]


@pytest.mark.parametrize(
    ("text", "cut"),
    [("a # b", 2), ("a ! b", 2), ('"a # b" # c', 8), ("'!' x", None), ("plain", None), ('"open # x', None)],
)
def test_comment_start_ignores_quoted_marks(text: str, cut: int | None) -> None:
    assert comment_start(text) == cut


# -- preprocessor ------------------------------------------------------------------------------


def test_comments_blank_lines_and_continuations(tmp_path: Path) -> None:
    conf = write(tmp_path, "k.conf", "! header\n\n  # note\nrouter_id a # x\nnotify a \\\n  b\n")
    assert words(conf) == [["router_id", "a"], ["notify", "a", "b"]]
    result = preprocess(conf, config_id=None)
    assert result.lines[1][2].pos == Pos(str(conf), 6, 3)


def test_byte_order_mark_and_crlf(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_bytes(b"\xef\xbb\xbfglobal_defs {\r\n router_id a\r\n}\r\n")
    assert words(conf) == [["global_defs", "{"], ["router_id", "a"], ["}"]]


def test_config_id_lines(tmp_path: Path) -> None:
    conf = write(tmp_path, "k.conf", "@lb1 priority 150\n@lb2 priority 100\n@^lb1 state BACKUP\n")
    assert words(conf, "lb1") == [["priority", "150"]]
    assert words(conf, "lb2") == [["priority", "100"], ["state", "BACKUP"]]
    assert words(conf, None) == [["state", "BACKUP"]]


def test_parameters_expand_recursively_and_point_at_the_use(tmp_path: Path) -> None:
    text = "$IF=eth0\n$DEV=dev $IF\n$VIP=${NET}.10/24 $DEV\n$NET=198.51.100\n  vip ${VIP} $UNDEF x\n"
    conf = write(tmp_path, "k.conf", text)
    result = preprocess(conf, config_id=None)
    assert [t.text for t in result.lines[0]] == ["vip", "198.51.100.10/24", "dev", "eth0", "$UNDEF", "x"]
    assert [t.pos.col for t in result.lines[0]] == [3, 7, 7, 7, 14, 21]
    assert [(i.code, i.pos.line, i.pos.col) for i in result.issues] == [("undefined_variable", 5, 14)]


def test_builtin_parameters(tmp_path: Path) -> None:
    conf = write(tmp_path, "k.conf", "a ${_HASH} ${_BANG} ${_INSTANCE} ${_PWD}\n")
    result = preprocess(conf, config_id="lb1")
    assert [t.text for t in result.lines[0]] == ["a", "#", "!", "lb1", str(tmp_path)]
    assert result.issues == []


def test_env_parameter_reads_the_environment_unset_is_nothing_with_a_warning(tmp_path: Path) -> None:
    text = "auth_pass ${_ENV VRRP_PASS}\nrouter_id lb-${_ENV NODE}-x\nb ${_ENV UNSET_ONE} c\n"
    environ = {"VRRP_PASS": "s3cret", "NODE": "7"}
    result = preprocess(write(tmp_path, "k.conf", text), config_id=None, environ=environ)
    assert [[t.text for t in line] for line in result.lines] == [
        ["auth_pass", "s3cret"], ["router_id", "lb-7-x"], ["b", "c"]]
    assert [(i.code, i.severity, i.pos.line, i.pos.col) for i in result.issues] == [
        ("environment_unset", Severity.WARNING, 3, 3)]
    assert "UNSET_ONE is not set" in result.issues[0].message


def test_env_parameter_defaults_to_the_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYKA_TEST_ENV_WORD", "from-env")
    result = preprocess(write(tmp_path, "k.conf", "a ${_ENV PYKA_TEST_ENV_WORD}\n"), config_id=None)
    assert [t.text for t in result.lines[0]] == ["a", "from-env"]


@pytest.mark.parametrize("use", ["${_ENV}", "${_ENV A B}"])
def test_env_parameter_without_exactly_one_name_is_an_error_left_as_written(tmp_path: Path, use: str) -> None:
    result = preprocess(write(tmp_path, "k.conf", f"a {use}\n"), config_id=None, environ={"A": "1"})
    assert [i.code for i in result.issues] == ["environment"]
    assert result.issues[0].severity is Severity.ERROR
    assert "".join(t.text for t in result.lines[0][1:]) == use.replace(" ", "")  # left as written


def _numbers(tmp_path: Path, text: str) -> list[int]:
    result = preprocess(write(tmp_path, "k.conf", text), config_id="lb1")
    assert result.issues == []
    return [int(t.text) for line in result.lines for t in line if t.text.isdigit()]


def test_random_numbers_repeat_with_random_seed_wherever_it_is_written(tmp_path: Path) -> None:
    text = "a ${_RANDOM} ${_RANDOM 5} ${_RANDOM 10 12}\n~SEQ(i, 3) b ${_RANDOM 1 6}\n"
    first = _numbers(tmp_path, "global_defs {\n random_seed 7\n}\n" + text)
    assert len(first) == 1 + 6  # the seed, then six draws
    assert 0 <= first[1] <= 32767 and 5 <= first[2] <= 32767 and 10 <= first[3] <= 12
    assert all(1 <= n <= 6 for n in first[4:7])
    assert _numbers(tmp_path, "global_defs {\n random_seed 7\n}\n" + text) == first
    after = _numbers(tmp_path, text + "global_defs {\n random_seed 7\n}\n")  # seeds a second reading
    assert after[:6] == first[1:]
    assert _numbers(tmp_path, "global_defs {\n random_seed 8\n}\n" + text) != first


def test_random_parameters_keepalived_would_refuse_are_an_error(tmp_path: Path) -> None:
    result = preprocess(write(tmp_path, "k.conf", "a ${_RANDOM 9 3}\nb ${_RANDOM x}\n"), config_id=None)
    assert [(i.code, i.pos.line) for i in result.issues if i.code == "random"] == [("random", 1),
                                                                                    ("random", 2)]


def test_self_referencing_parameter_is_an_error_not_a_hang(tmp_path: Path) -> None:
    conf = write(tmp_path, "k.conf", "$A=x $B\n$B=$A y\nuse $A\nafter\n")
    result = preprocess(conf, config_id=None)
    assert [[t.text for t in lx] for lx in result.lines] == [["use", "$A"], ["after"]]
    assert [(i.code, i.pos.line, i.pos.col) for i in result.issues] == [("expansion_loop", 3, 5)]


def test_parameter_bomb_hits_the_line_limit(tmp_path: Path) -> None:
    defs = "$A0=xxxxxxxxxx\n" + "".join(f"$A{i}=$A{i - 1} $A{i - 1} $A{i - 1}\n" for i in range(1, 15))
    conf = write(tmp_path, "k.conf", defs + "use $A14\n")
    result = preprocess(conf, config_id=None, limits=Limits(max_expansion_depth=20))
    assert [[t.text for t in lx] for lx in result.lines] == [["use", "$A14"]]
    assert [i.code for i in result.issues] == ["expansion_too_long"]


def test_include_glob_relative_to_including_file_sorted(tmp_path: Path) -> None:
    write(tmp_path, "conf.d/b.conf", "b\n")
    write(tmp_path, "conf.d/a.conf", "a\ninclude ../extra/{x,y}.inc\n")
    write(tmp_path, "extra/y.inc", "y\n")
    write(tmp_path, "extra/x.inc", "x\n")
    conf = write(tmp_path, "k.conf", "first\ninclude conf.d/*.conf\nlast\n")
    assert words(conf) == [["first"], ["a"], ["x"], ["y"], ["b"], ["last"]]
    result = preprocess(conf, config_id=None)
    assert result.lines[2][0].pos == Pos(str(tmp_path / "conf.d" / "../extra/x.inc"), 1, 1)
    assert len(result.files) == 5


def test_include_inside_a_block_and_missing_include_warns(tmp_path: Path) -> None:
    write(tmp_path, "vips.inc", "198.51.100.1\n")
    conf = write(tmp_path, "k.conf", "v {\ninclude vips.inc\n}\ninclude nothing/*.conf\n")
    assert words(conf) == [["v", "{"], ["198.51.100.1"], ["}"]]
    assert issues(conf) == [("warning", "include_no_match", 4, 9)]


def test_include_loop_is_reported_once_per_cycle(tmp_path: Path) -> None:
    write(tmp_path, "b.conf", "b\ninclude k.conf\n")
    conf = write(tmp_path, "k.conf", "k\ninclude b.conf\ninclude k.conf\n")
    assert words(conf) == [["k"], ["b"]]
    result = preprocess(conf, config_id=None)
    assert [(i.code, i.message) for i in result.issues] == [
        ("include_loop", "include loop: k.conf -> b.conf -> k.conf"),
        ("include_loop", "include loop: k.conf -> k.conf"),
    ]


def test_unreadable_and_binary_files(tmp_path: Path) -> None:
    missing = preprocess(tmp_path / "nope.conf", config_id=None)
    assert missing.unreadable and [i.code for i in missing.issues] == ["file_not_found"]
    binary = tmp_path / "bin.conf"
    binary.write_bytes(b"router_id a\n\xff\xfe\x00junk\n")
    result = preprocess(binary, config_id=None)
    assert [(i.code, i.pos.line, i.pos.col) for i in result.issues] == [
        ("encoding", 2, 1),
        ("binary_file", 2, 3),
    ]


def test_size_limit(tmp_path: Path) -> None:
    conf = write(tmp_path, "k.conf", "x" * 200)
    result = preprocess(conf, config_id=None, limits=Limits(max_file_bytes=100))
    assert result.unreadable and [i.code for i in result.issues] == ["file_too_large"]


def test_brace_expansion() -> None:
    assert expand_braces("a{b,c}d{1,2}", 10) == ["abd1", "abd2", "acd1", "acd2"]
    assert expand_braces("plain", 10) == ["plain"]
    assert len(expand_braces("{a,b}" * 20, 256)) == 256


# -- tree --------------------------------------------------------------------------------------


def shape(statements: list[Statement]) -> list[object]:
    out: list[object] = []
    for st in statements:
        item: list[object] = [t.text for t in st.tokens]
        if st.block is not None:
            item.append(shape(st.block))
        out.append(item)
    return out


def tree_of(tmp_path: Path, text: str) -> tuple[list[object], list[tuple[str, int, int]]]:
    result = preprocess(write(tmp_path, "k.conf", text), config_id=None)
    top = build(result.lines, result.issues)
    return shape(top), [(i.code, i.pos.line, i.pos.col) for i in result.issues]


def test_nested_blocks_one_line_blocks_and_brace_on_next_line(tmp_path: Path) -> None:
    text = "vs 1 80\n{\n rs 2 80 { weight 1 H { url { path / } } }\n}\n"
    assert tree_of(tmp_path, text) == (
        [["vs", "1", "80", [["rs", "2", "80", [["weight", "1", "H", [["url", [["path", "/"]]]]]]]]]],
        [],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a {\n b\n", [("unclosed_block", 1, 3)]),
        ("a {\n}\n}\n", [("syntax", 3, 1)]),
        ("{ b }\n", [("syntax", 1, 1)]),
        ("a {\n b {\n", [("unclosed_block", 2, 4), ("unclosed_block", 1, 3)]),
    ],
)
def test_unbalanced_braces(tmp_path: Path, text: str, expected: list[tuple[str, int, int]]) -> None:
    assert tree_of(tmp_path, text)[1] == expected


def test_deep_nesting_is_cut_at_the_limit(tmp_path: Path) -> None:
    depth = MAX_DEPTH + 50
    text = "".join(f"b{i} {{\n" for i in range(depth)) + "}\n" * depth + "after\n"
    tree, found = tree_of(tmp_path, text)
    assert found == [("nesting", MAX_DEPTH + 1, len(f"b{MAX_DEPTH}") + 2)]
    assert tree[-1] == ["after"]


def test_severity_values() -> None:
    assert [s.value for s in Severity] == ["error", "warning", "note"]


# -- the fast path for lines that need no preprocessing --------------------------------------------------

PLAIN_TEXT = strategies.text(alphabet=strategies.sampled_from(list("ab1/.:-_{} \t\u00a0é")), max_size=40)


@given(PLAIN_TEXT)
def test_plain_lines_tokenize_like_the_general_lexer(text: str) -> None:
    assert is_plain(text)
    general = tokenize(SourceLine("f", text, [Span(0, 7, 1)]), [])
    assert tokenize_plain(text, "f", 7) == general


@pytest.mark.parametrize("text", ["a # c", "a ! c", 'a "b"', "a 'b'", "a \\", "@lb1 a", "$A=1", "a $A",
                                  "~SEQ(1)"])
def test_lines_with_special_characters_take_the_general_path(text: str) -> None:
    assert not is_plain(text)


def test_a_file_mixing_plain_and_special_lines_keeps_order_and_positions(tmp_path: Path) -> None:
    text = "a 1\n$X=2\nb $X # c\n  c {\n@lb1 d 4\n}\ninclude none.conf\ne 5\n"
    result = preprocess(write(tmp_path, "k.conf", text), config_id="lb1")
    assert [[(t.text, t.pos.line, t.pos.col) for t in lx] for lx in result.lines] == [
        [("a", 1, 1), ("1", 1, 3)],
        [("b", 3, 1), ("2", 3, 3)],
        [("c", 4, 3), ("{", 4, 5)],
        [("d", 5, 6), ("4", 5, 8)],
        [("}", 6, 1)],
        [("e", 8, 1), ("5", 8, 3)],
    ]
    assert [i.code for i in result.issues] == ["include_no_match"]
