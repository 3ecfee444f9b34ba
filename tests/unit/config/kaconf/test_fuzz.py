"""The keepalived.conf reader never raises, whatever the input: random text, bytes, token soup,
deep nesting, include loops, huge files.  Every problem is a diagnostic."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.diagnostics import Diagnostic, Severity
from pykeepalived.config.kaconf import Limits, parse
from pykeepalived.config.kaconf.keywords import GLOBAL_DEFS, TOP, VRRP_INSTANCE
from pykeepalived.config.kaconf.lvs import REAL_SERVER, URL, VIRTUAL_SERVER
from pykeepalived.config.load import Syntax, check_config

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())


def parse_bytes(data: bytes, name: str = "k.conf", limits: Limits | None = None) -> list[Diagnostic]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / name
        path.write_bytes(data)
        result = parse(path, config_id="lb1", limits=limits)
        assert isinstance(result.diagnostics, list)
        for d in result.diagnostics:
            assert d.file and d.message and d.code
            assert d.line is None or d.line >= 1
        checked = check_config(str(path), syntax=Syntax.KEEPALIVED, config_id="lb1")
        assert checked.config is None or not checked.errors
        return result.diagnostics


_WORDS = sorted(
    {
        *TOP.known(),
        *GLOBAL_DEFS.known(),
        *VRRP_INSTANCE.known(),
        *VIRTUAL_SERVER.known(),
        *REAL_SERVER.known(),
        *URL.known(),
        "{",
        "}",
        "\n",
        '"',
        "'",
        "#",
        "!",
        "\\",
        "$X=",
        "$X",
        "${X}",
        "${Y}",
        "$Y=$X $X",
        "@lb1",
        "@^lb1",
        "include",
        "*",
        "k.conf",
        "198.51.100.1",
        "2001:db8::1/64",
        "80",
        "-1",
        "0.5",
        "on",
        "nonsense",
        "fwmark",
        "group",
        "dev",
        "label",
        "weight",
        "reverse",
        "~SEQ(i,1,1,3)",
        "TUN",
        "type",
        "gue",
        "gre",
        "ipip",
        "port",
        "csum",
        "remcsum",
        "inet6",
    }
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_random_text_never_raises(text: str) -> None:
    parse_bytes(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_binary_garbage_never_raises(data: bytes) -> None:
    parse_bytes(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=120))
def test_token_soup_never_raises(words: list[str]) -> None:
    parse_bytes(" ".join(words).encode())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "vrrp_instance V {",
                "virtual_server 198.51.100.1 80 {",
                "real_server 198.51.100.2 80 {",
                "HTTP_GET {",
                "url {",
                "path /",
                "}",
                "}",
                "priority 1",
                "weight 2",
                "lvs_method TUN type gue port 6080 csum",
                "sorry_server_lvs_method TUN type gre",
                "sorry_server 198.51.100.9",
                "sh-port",
                "ops",
                "ip_family inet6",
                "uthreshold 5",
                "lthreshold 9",
            ]
        ),
        max_size=60,
    )
)
def test_block_soup_never_raises(lines: list[str]) -> None:
    parse_bytes("\n".join(lines).encode())


def test_deep_nesting_is_bounded() -> None:
    depth = 20_000
    diagnostics = parse_bytes(("a {\n" * depth + "}\n" * depth).encode())
    assert [d.code for d in diagnostics if d.severity is Severity.ERROR][:1] == ["nesting"]


def test_unbalanced_and_unterminated() -> None:
    codes = {d.code for d in parse_bytes(b'vrrp_instance V {\n notify "/bin/x\n} }\n{\n')}
    assert {"unterminated_quote", "syntax", "unclosed_block"} <= codes


def test_self_include_by_glob_is_a_loop_not_a_hang() -> None:
    codes = [d.code for d in parse_bytes(b"include *\ninclude k.conf\nglobal_defs {\n}\n")]
    assert codes == ["include_loop", "include_loop"]


def test_huge_file_is_refused_by_the_size_cap() -> None:
    diagnostics = parse_bytes(
        b"global_defs {\n}\n" + b"# padding\n" * 2000, limits=Limits(max_file_bytes=4096)
    )
    assert [d.code for d in diagnostics] == ["file_too_large"]


def test_huge_line_is_refused() -> None:
    diagnostics = parse_bytes(b"global_defs { router_id " + b"x" * 100_000 + b" }\n")
    assert "line_too_long" in [d.code for d in diagnostics]


_CONF_EXAMPLES = sorted((REPO / "etc").glob("*.conf"))
_CONF_WORDS = ["{", "}", "no", "-5", "99999", "x", "TUN", "type", "gue", "csum", "inet6", "sh-port", '"']


@settings(max_examples=120, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(range(len(_CONF_EXAMPLES))))
def test_mutated_conf_examples_never_raise(rng: random.Random, index: int) -> None:
    lines = _CONF_EXAMPLES[index].read_text().splitlines()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        action = rng.choice(["drop", "dup", "swap", "word"])
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            words = lines[i].split() or [""]
            words[rng.randrange(len(words))] = rng.choice(_CONF_WORDS)
            lines[i] = " ".join(words)
        if not lines:
            break
    parse_bytes(("\n".join(lines) + "\n").encode())
