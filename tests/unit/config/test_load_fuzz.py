"""Fuzzing the YAML reader and validator: any input gives a result with diagnostics, never an exception."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.load import check_text
from pykeepalived.config.semantic import StaticFileInspector
from pykeepalived.config.source import Limits, decode_bytes, load_yaml

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

FS = StaticFileInspector({})
EXAMPLES = sorted((REPO / "etc").glob("*.yaml"))
KEYWORDS = ["vrrp_instances", "virtual_servers", "global_defs", "interface", "virtual_router_id", "priority",
            "virtual_ipaddress", "real_servers", "ip", "port", "HTTP_GET", "url", "path", "weight", "state",
            "unicast_peer", "track_script", "vrrp_scripts", "script", "group", "vrrp_sync_groups", "<<"]
YAML_BITS = ["\n", "  ", "- ", ": ", "{", "}", "[", "]", ",", "&a ", "*a", "!!str ", "no", "on", "'", '"',
             "#", "---", "\t", "203.0.113.1", "2001:db8::1", "255", "-1", "1.5", "~", "|", ">"]


def assert_clean(text: str) -> None:
    result = check_text(text, inspector=FS, limits=Limits(max_nodes=20_000, max_alias_nodes=2_000))
    if result.config is None:
        assert any(d.severity is Severity.ERROR for d in result.diagnostics)
    for d in result.diagnostics:
        assert d.code and d.message and d.file


@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    assert_clean(text)


@given(st.binary(max_size=400))
def test_arbitrary_bytes(raw: bytes) -> None:
    text, diagnostics = decode_bytes(raw, "f.yaml")
    if text is None:
        assert diagnostics
    else:
        assert_clean(text)


@given(st.lists(st.sampled_from(KEYWORDS + YAML_BITS), max_size=60))
def test_yaml_shaped_noise(parts: list[str]) -> None:
    assert_clean("".join(parts))


scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["203.0.113.1", "2001:db8::1/64", "MASTER", "DR"]))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(KEYWORDS[:-1]) | st.text(max_size=8), children,
                                               max_size=5)),
    max_leaves=30,
)


@given(st.dictionaries(st.sampled_from(KEYWORDS[:-1]), documents, max_size=4))
def test_structured_random_documents(doc: dict[str, Any]) -> None:
    assert_clean(yaml.safe_dump(doc))


@settings(max_examples=150)
@given(st.integers(0, 2**32), st.sampled_from(range(len(EXAMPLES))))
def test_mutated_examples(seed: int, index: int) -> None:
    rng = random.Random(seed)
    lines = EXAMPLES[index].read_text().splitlines()
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines))
        action = rng.choice(["drop", "dup", "swap", "value", "indent"])
        if action == "drop":
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        elif action == "swap":
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "value" and ":" in lines[i]:
            key = lines[i].split(":", 1)[0]
            lines[i] = f"{key}: {rng.choice(['no', 'yes', '-5', '99999', 'x', '[]', '{}', '~', '1.5'])}"
        else:
            lines[i] = " " + lines[i]
        if not lines:
            break
    assert_clean("\n".join(lines) + "\n")


def test_load_yaml_result_shape_for_plain_scalars() -> None:
    assert load_yaml("42\n", "f").data is None
