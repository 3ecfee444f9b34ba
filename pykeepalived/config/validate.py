"""Plain data + positions -> :class:`Config` and positioned diagnostics (both syntaxes use this).

pydantic reports each problem with a ``loc`` path; this module maps it through the
:class:`~pykeepalived.config.source.PositionMap` to file:line:col, turns pydantic's messages into
keepalived-flavoured ones (``unknown keyword 'priorty'`` with ``did you mean 'priority'?``) and
then runs the semantic second pass.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from pykeepalived.config import host as host_checks
from pykeepalived.config import semantic
from pykeepalived.config.diagnostics import Diagnostic, Path, Severity, did_you_mean, error
from pykeepalived.config.model import Config
from pykeepalived.config.source import PositionMap

_SHOULD = "Input should be "
_MAPPING_TYPES = {"model_type", "dict_type", "model_attributes_type", "mapping_type"}
_IFNAME = "an interface name"
_PATTERN_NAMES = {"interface": _IFNAME, "dev": _IFNAME, "bind_if": _IFNAME, "digest": "a 32-digit hex MD5"}
_OTHER_SHOULD = re.compile(r"^(?:String|List|Tuple|Dictionary|Value) (should .*)$")
_LIST_TYPES = {"list_type", "tuple_type", "iterable_type"}


def validate_data(
    data: object,
    positions: PositionMap,
    source_files: Mapping[str, str],
    *,
    file: str | None = None,
    inspector: semantic.FileInspector | None = None,
    reader_diagnostics: Sequence[Diagnostic] = (),
    host: host_checks.HostFacts | None = None,
) -> tuple[Config | None, list[Diagnostic]]:
    """Validate plain config data; returns the model (None if there is any error) and every diagnostic.

    ``reader_diagnostics`` are what the reader already reported: an error there with a data
    ``path`` (a keyword written but not readable) silences the model's follow-on "missing" or
    "too short" errors for that path, which would only repeat it.
    """
    main_file = file or next(iter(source_files), "<config>")
    if isinstance(data, Mapping):
        # top-level "x-..." keys are free for YAML anchors (like docker compose's extension fields)
        data = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("x-"))}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        failed = [d.path for d in reader_diagnostics if d.path and d.severity is Severity.ERROR]
        diagnostics = _from_pydantic(exc, data, positions, main_file, failed)
        return None, attach_sources(diagnostics, source_files)
    findings = semantic.check(config, inspector or semantic.OsFileInspector())
    if host is not None:
        findings += host_checks.check(config, host)
    diagnostics = [_place(d, positions, main_file) for d in findings]
    diagnostics = attach_sources(diagnostics, source_files)
    if any(d.severity is Severity.ERROR for d in diagnostics):
        return None, diagnostics
    return config, diagnostics


def attach_sources(diagnostics: list[Diagnostic], source_files: Mapping[str, str]) -> list[Diagnostic]:
    """Fill ``source_line`` from the file texts, for the caret display.

    Each file's text is read and split into lines once per call, however many diagnostics point
    into it: the cost is linear in the file size plus the number of diagnostics.
    """
    lines: dict[str, list[str]] = {}
    out = []
    for d in diagnostics:
        if d.source_line is None and d.line is not None and d.file in source_files:
            file_lines = lines.get(d.file)
            if file_lines is None:
                file_lines = lines[d.file] = source_files[d.file].splitlines()
            if 0 < d.line <= len(file_lines):
                out.append(dataclasses.replace(d, source_line=file_lines[d.line - 1]))
                continue
        out.append(d)
    return out


def _place(d: Diagnostic, positions: PositionMap, main_file: str) -> Diagnostic:
    if d.line is not None:
        return d
    position = positions.locate(d.path, prefer_key=True)
    if position is None:
        return dataclasses.replace(d, file=d.file or main_file)
    return dataclasses.replace(d, file=position.file, line=position.line, col=position.col)


# --- pydantic errors -> diagnostics ---------------------------------------------------------------


def _from_pydantic(exc: ValidationError, data: object, positions: PositionMap, main_file: str,
                   reader_failed: Sequence[Path] = ()) -> list[Diagnostic]:
    by_path: dict[tuple[Path, str], list[ErrorDetails]] = {}
    errors = exc.errors(include_url=False)
    paths = [_field_path(_data_path(err["loc"], data, err["type"]), err, data) for err in errors]
    below_model = _prefixes(paths)
    reader_set = set(reader_failed)
    above_reader = _prefixes(reader_failed) | reader_set
    for err, path in zip(errors, paths, strict=True):
        if err["type"] in _FOLLOW_ON and (path in below_model or path in above_reader
                                          or _under(path, reader_set)):
            continue  # follow-on: a list whose items failed is also "too short", and so on
        by_path.setdefault((path, err["type"] if err["type"] in ("missing", "extra_forbidden") else ""),
                           []).append(err)
    out = []
    for (path, _), errs in by_path.items():
        out.append(_diagnostic(path, errs, positions, main_file))
    return out


#: errors that only repeat a problem already reported further down the same path
_FOLLOW_ON = frozenset({"too_short", "missing"})


def _under(path: Path, roots: set[Path]) -> bool:
    """True if a proper prefix of ``path`` is one of ``roots`` (inside a block the reader rejected)."""
    return bool(roots) and any(path[:i] in roots for i in range(len(path)))


def _prefixes(paths: Iterable[Path]) -> set[Path]:
    """Every proper prefix of every path (one pass, so the cascade filter stays linear)."""
    out: set[Path] = set()
    for path in paths:
        for i in range(len(path) - 1, -1, -1):
            prefix = path[:i]
            if prefix in out:
                break
            out.add(prefix)
    return out


def _data_path(loc: tuple[int | str, ...], data: object, kind: str) -> Path:
    """``loc`` without the elements that are not in the data (union tags, one-or-many wrapping)."""
    path: list[int | str] = []
    current = data
    for i, elem in enumerate(loc):
        last = i == len(loc) - 1
        found, child = _child(current, elem)
        if found:
            current = child
            path.append(elem)
        elif last and kind == "missing" and isinstance(current, Mapping):
            path.append(elem)
    return tuple(path)


def _field_path(path: Path, err: ErrorDetails, data: object) -> Path:
    """A model-level error that names one of its fields (``types.field_error``) goes to that field."""
    field = (err.get("ctx") or {}).get("field")
    if not isinstance(field, str):
        return path
    current = data
    for elem in path:
        _, current = _child(current, elem)
    return (*path, field) if isinstance(current, Mapping) and field in current else path


def _child(current: object, elem: int | str) -> tuple[bool, object]:
    if isinstance(current, Mapping) and elem in current:
        return True, current[elem]
    if isinstance(current, list) and isinstance(elem, int) and 0 <= elem < len(current):
        return True, current[elem]
    return False, None


def _diagnostic(path: Path, errs: list[ErrorDetails], positions: PositionMap, main_file: str) -> Diagnostic:
    err = errs[0]
    kind = err["type"]
    key = _last_key(path)
    hint = None
    if kind == "extra_forbidden":
        message = f"unknown keyword '{key}'"
        same_as = _alias_of(err["loc"][:-1], key)
        if same_as is not None:
            message = f"'{key}' is another name for '{same_as}', which is already set"
        else:
            hint = did_you_mean(str(key), _allowed_keys(err["loc"][:-1]))
            if hint is None and len(path) == 1:
                hint = "top-level keys starting with 'x-' are ignored (a place for YAML anchors)"
        position = positions.locate(path, prefer_key=True)
    elif kind == "missing":
        message = f"missing required keyword '{key}'"
        position = positions.locate(path[:-1], prefer_key=True)
    else:
        message, hint = _value_message(path, errs, positions)
        position = positions.locate(path)
    if position is None:
        return error(kind, message, main_file, hint=hint, path=path)
    return error(kind, message, position.file, position.line, position.col, hint=hint, path=path)


def _last_key(path: Path) -> str:
    for elem in reversed(path):
        if isinstance(elem, str):
            return elem
    return "configuration"


def _value_message(path: Path, errs: list[ErrorDetails], positions: PositionMap) -> tuple[str, str | None]:
    err = errs[0]
    kind = err["type"]
    key = _last_key(path)
    value = err.get("input")
    raw = positions.raw(path)
    if raw is not None and isinstance(value, bool):
        expected = " or ".join(dict.fromkeys(_expected(e) for e in errs))
        hint = f"write it in quotes if you mean the word: '{raw}'" if "string" in expected else None
        return (f"'{key}' should be {expected}, but YAML reads the unquoted '{raw}' as the boolean "
                f"{str(value).lower()}", hint)
    if kind == "string_pattern_mismatch":
        what = _PATTERN_NAMES.get(key, "valid")
        return f"'{key}' should be {what}, got {_describe(value)}", None
    if kind in _MAPPING_TYPES:
        return f"'{key}' should be a mapping of keywords, got {_describe(value)}", None
    if kind in _LIST_TYPES:
        return f"'{key}' should be a list, got {_describe(value)}", None
    if len(errs) > 1 and all(e["msg"].startswith(_SHOULD) for e in errs):
        expected = " or ".join(dict.fromkeys(_expected(e) for e in errs))
        return f"'{key}' should be {expected}, got {_describe(value)}", None
    msg: str = err["msg"]
    if msg.startswith(_SHOULD):
        hint = None
        if kind in ("enum", "literal_error"):
            choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            hint = _choice_hint(value, choices)
        return f"'{key}' should be {msg.removeprefix(_SHOULD)}, got {_describe(value)}", hint
    if kind == "value_error":
        msg = msg.removeprefix("Value error, ")
    other = _OTHER_SHOULD.match(msg.replace(" after validation", ""))
    if other is not None:
        got = "" if isinstance(value, list | tuple | Mapping) else f", got {_describe(value)}"
        return f"'{key}' {other.group(1)}{got}", None
    if kind == "value_error" or "field" in (err.get("ctx") or {}):
        return msg, None
    return f"{key}: {msg}", None


def _expected(err: ErrorDetails) -> str:
    msg: str = err["msg"]
    return msg.removeprefix(_SHOULD) if msg.startswith(_SHOULD) else msg


def _choice_hint(value: object, choices: list[str]) -> str | None:
    if not isinstance(value, str):
        return None
    folded = {c.casefold(): c for c in choices}
    if value.casefold() in folded:
        return f"did you mean '{folded[value.casefold()]}'?"
    return did_you_mean(value, choices)


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing (null)"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 60 else f"'{value[:57]}...'"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


# --- the model class at a loc, for "did you mean" -----------------------------------------------


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    model = _model_at(loc)
    if model is None:
        return []
    keys = []
    for name, info in model.model_fields.items():
        if name == "name" or info.exclude:
            continue
        keys.append(name)
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            keys.extend(str(c) for c in choices if isinstance(c, str))
    return keys


def _alias_of(loc: tuple[int | str, ...], key: str) -> str | None:
    model = _model_at(loc)
    for field in model.model_fields.values() if model is not None else ():
        choices = [str(c) for c in getattr(field.validation_alias, "choices", None) or ()]
        if key in choices:
            return choices[0] if choices[0] != key else choices[1]
    return None


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    current: object = Config
    for elem in loc:
        current = _descend(current, elem)
        if current is None:
            return None
    models = _models_in(current)
    return models[0] if models else None


def _descend(tp: object, elem: int | str) -> object:
    for candidate in _flatten(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            if isinstance(elem, str) and elem in candidate.model_fields:
                return candidate.model_fields[elem].annotation
            if isinstance(elem, str):
                for field in candidate.model_fields.values():
                    if elem in (getattr(field.validation_alias, "choices", None) or ()):
                        return field.annotation
            if elem == candidate.__name__ or (isinstance(elem, str) and elem.startswith(candidate.__name__)):
                return candidate
        origin = typing.get_origin(candidate)
        if origin in (tuple, list) and isinstance(elem, int):
            return typing.get_args(candidate)[0]
        if origin is not None and isinstance(origin, type) and issubclass(origin, Mapping) \
                and isinstance(elem, str):
            return typing.get_args(candidate)[1]
    return tp  # union tags and wrapping indexes: stay on the same type


def _flatten(tp: object) -> list[object]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _flatten(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        out = []
        for arg in typing.get_args(tp):
            out.extend(_flatten(arg))
        return out
    return [tp]


def _models_in(tp: object) -> list[type[BaseModel]]:
    found = []
    for candidate in _flatten(tp):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            found.append(candidate)
        elif typing.get_origin(candidate) in (tuple, list):
            found.extend(_models_in(typing.get_args(candidate)[0]))
    return found
