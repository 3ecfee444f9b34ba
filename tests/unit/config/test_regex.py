"""config.regex: keepalived's PCRE2 regex_options on Python's re -- mapped, honoured as they are, or
refused -- and regex_min_offset / regex_max_offset / firstline on the body."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.config.regex import (
    REFUSED,
    RegexConfigError,
    RegexOption,
    check_url_regex,
    compile_url_regex,
)

BODY = b"status: READY\nload: 3\nend\n"


def found(pattern: str, *options: str, body: bytes = BODY, **kw) -> bool:
    return compile_url_regex(pattern, tuple(RegexOption(o) for o in options), **kw).found(body)


def test_default_is_pcre2s_default():
    assert found("READY")
    assert not found("ready")
    assert not found("READY.load")  # '.' does not match a newline without dotall
    assert found("end$") and not found("READY$")  # '$': at the end or before a final newline only
    assert not found("^load")
    assert found("^status")


@pytest.mark.parametrize(("pattern", "option"), [
    ("ready", "caseless"),
    ("READY.load", "dotall"),
    ("^load", "multiline"),
    ("READY$", "multiline"),
    ("R E A D Y  # spaced out", "extended"),
])
def test_mapped_options(pattern, option):
    assert not found(pattern)
    assert found(pattern, option)


@pytest.mark.parametrize("option", ["auto_callout", "dupnames", "never_backslash_c", "alt_verbnames",
                                    "use_offset_limit", "no_auto_possess", "no_start_optimize",
                                    "no_dotstar_anchor", "never_utf", "never_ucp"])
def test_options_that_change_no_match_are_honoured_as_they_are(option):
    assert found("READY", option)
    assert not found("ready", option)


@pytest.mark.parametrize("option", sorted(REFUSED))
def test_options_that_cannot_be_honoured_are_refused(option):
    with pytest.raises(ValueError, match=f"'{option}' cannot be honoured"):
        compile_url_regex("x", (option,))


def test_contradicting_options_are_refused():
    with pytest.raises(ValueError, match="contradict"):
        compile_url_regex("x", (RegexOption.UTF, RegexOption.NEVER_UTF))
    with pytest.raises(ValueError, match="contradict"):
        compile_url_regex("x", (RegexOption.UCP, RegexOption.NEVER_UCP))


def test_invalid_patterns_are_refused():
    with pytest.raises(ValueError, match="invalid regex"):
        compile_url_regex("(x")
    with pytest.raises(ValueError, match="invalid regex"):
        compile_url_regex("(?P<a>x)(?P<a>y)", (RegexOption.DUPNAMES,))  # dupnames: re cannot


def test_utf_and_ucp_match_text():
    body = "état: prêt\n".encode()
    assert found(r"\w+: pr\wt", "utf", body=body)
    assert not found(r"^\w+:", body=body)  # bytes: \w is ASCII, 'é' is two bytes that are no word chars
    assert found(r"^\w+:", "ucp", body=body)
    assert not found("x", "utf", body=b"\xff\xfe not utf-8 x")  # PCRE2: a UTF error, no match


def test_offsets_bound_where_a_match_may_start():
    assert found("load", min_offset=14)  # 'load' starts at 14
    assert not found("load", min_offset=15)
    assert found("load", max_offset=14)
    assert not found("load", max_offset=13)
    assert found("e", min_offset=20, max_offset=23)  # the 'e' of 'end' at 22
    assert not found("load", min_offset=len(BODY) + 1)
    with pytest.raises(ValueError, match="beyond"):
        compile_url_regex("x", min_offset=5, max_offset=4)


def test_offsets_are_bytes_in_utf_mode():
    body = "ééé ok".encode()  # 'ok' starts at byte 7, character 4
    assert found("ok", "utf", body=body, max_offset=7)
    assert not found("ok", "utf", body=body, max_offset=6)
    assert found("ok", "utf", body=body, min_offset=7)


def test_firstline_needs_the_match_to_start_in_the_first_line():
    assert not found("load", "firstline")
    assert found("status", "firstline")
    assert found("READY.load", "firstline", "dotall")  # may run past the newline
    assert found("load", "firstline", min_offset=14)  # the first line after the start offset


_TUNING = st.sampled_from([None, False, True, 0, 1, (), ("caseless",), [], (0, 0), (1, 0)])


@given(no_match=_TUNING, options=_TUNING, stack=_TUNING, min_offset=_TUNING, max_offset=_TUNING)
def test_without_a_regex_the_first_tuning_keyword_given_is_refused(no_match: Any, options: Any, stack: Any,
                                                                   min_offset: Any, max_offset: Any) -> None:
    """With no ``regex``, the first tuning keyword that is set (not None, False or empty) is refused
    by name; none set (the common case, taken by a short cut) is accepted."""
    given_values = {"regex_no_match": no_match, "regex_options": options, "regex_stack": stack,
                    "regex_min_offset": min_offset, "regex_max_offset": max_offset}
    first = next((k for k, v in given_values.items() if v is not None and v is not False and v != ()
                  and v != 0), None)
    if first is None:
        check_url_regex(None, options, stack=stack, min_offset=min_offset, max_offset=max_offset,
                        no_match=no_match)
        return
    with pytest.raises(RegexConfigError) as caught:
        check_url_regex(None, options, stack=stack, min_offset=min_offset, max_offset=max_offset,
                        no_match=no_match)
    assert caught.value.key == first


_DEFAULTS: dict[str, Any] = {"no_match": False, "options": (), "stack": None, "min_offset": None,
                             "max_offset": None}


@pytest.mark.parametrize("name", list(_DEFAULTS))
@pytest.mark.parametrize("value", [None, False, True, 0, 1, (), ("caseless",), [], (0, 0)])
def test_one_tuning_keyword_without_a_regex(name: str, value: Any) -> None:
    """Each keyword alone next to the defaults: the short cut for "nothing given" must not swallow it."""
    kwargs = {**_DEFAULTS, name: value}
    key = {"no_match": "regex_no_match", "options": "regex_options", "stack": "regex_stack",
           "min_offset": "regex_min_offset", "max_offset": "regex_max_offset"}[name]
    if value is None or value is False or value == () or value == 0:
        check_url_regex(None, **kwargs)
        return
    with pytest.raises(RegexConfigError) as caught:
        check_url_regex(None, **kwargs)
    assert caught.value.key == key
