"""keepalived's include checks and csh brace patterns (``include_check``, ``includer``/``includem``/
``includew``/``includeb``/``includea``, ``-e``; ``conf.d/{a,b}*.conf``), for the preprocessor."""

from __future__ import annotations

import re

INCLUDE_CHECKS = frozenset({"readable", "match", "wildcard_match", "brace_match"})
"""keepalived's ``include_check`` options; none given means all of them (as ``-e``)."""
INCLUDE_VARIANTS = {"r": {"readable"}, "m": {"match"}, "w": {"wildcard_match"}, "b": {"brace_match"},
                    "a": set(INCLUDE_CHECKS)}
"""``includeX``: the one check an include of that spelling makes."""


_BRACE = re.compile(r"\{([^{}]*,[^{}]*)\}")


def expand_braces(pattern: str, limit: int) -> list[str]:
    """csh-style ``a{b,c}d`` -> ``abd acd`` (innermost first), at most ``limit`` results."""
    results = [pattern]
    done: list[str] = []
    while results and len(done) + len(results) <= limit:
        current = results.pop(0)
        match = _BRACE.search(current)
        if match is None:
            done.append(current)
            continue
        head, tail = current[: match.start()], current[match.end() :]
        results[0:0] = [head + choice + tail for choice in match.group(1).split(",")]
    return done + results[: max(limit - len(done), 0)]


def include_checks(current: frozenset[str], words: list[str]) -> frozenset[str]:
    """``include_check`` with no word: every check; ``+opt``/``-opt`` add or remove one; a plain word
    sets the list.  Unknown words are left to the reader's other diagnostics (ignored here)."""
    if not words:
        return INCLUDE_CHECKS
    result = set() if not words[0].startswith(("+", "-")) else set(current)
    for word in words:
        name = word.lstrip("+-")
        if name not in INCLUDE_CHECKS:
            continue
        if word.startswith("-"):
            result.discard(name)
        else:
            result.add(name)
    return frozenset(result)
