"""Config text -> plain data (dicts, lists, scalars) plus a :class:`PositionMap`.

The YAML reader composes the node tree with PyYAML (the C parser when available) and walks it
itself, so that it can record the position of every key and value, reject duplicate keys, note YAML 1.1
"surprise" booleans (``no``, ``on``...) for better messages, and refuse alias expansion bombs, over-deep
nesting, huge files, binary data and non-UTF-8 text.  Every problem becomes a :class:`Diagnostic`;
nothing here raises on bad input.

The keepalived.conf reader (:mod:`pykeepalived.config.kaconf`) produces the same two things.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NamedTuple

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pykeepalived.config.diagnostics import Diagnostic, Path, error
from pykeepalived.config.document import Document, Scalar
from pykeepalived.config.document import Node as Value

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_TAG}{t}" for t in ("null", "bool", "int", "float", "str")}
_TEXT_TAGS = {f"{_TAG}{t}" for t in ("timestamp", "binary")}
_BOOL_WORDS = {"true", "false"}
_STR_TAG = f"{_TAG}str"
_MAP_TAG = f"{_TAG}map"
_MERGE_TAG = f"{_TAG}merge"


class _Missing(enum.Enum):
    """The "not cached" marker (an enum member, so ``is`` narrows it away for the type checker)."""

    MISSING = enum.auto()


_MISSING: Final = _Missing.MISSING
if TYPE_CHECKING:  # libyaml's CSafeLoader when built with it: the same interface as SafeLoader
    _BaseLoader = yaml.SafeLoader
else:
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):
    """The safe loader (libyaml's C parser when available) with a memoized tag resolver.

    The composer asks the resolver for the tag of every node; for a plain scalar the answer
    depends only on its text (this loader has no path resolvers), so it is computed once per
    distinct text: a big configuration repeats the same few words and numbers many times.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._tags: dict[str, str] = {}

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        """No path resolvers: nothing to track."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track."""

    def resolve(self, kind: type[Node], value: str | None, implicit: tuple[bool, bool] | bool) -> str:
        # a scalar comes with its text and (plain, quoted); a collection with None and a bool
        if kind is ScalarNode and isinstance(value, str) and isinstance(implicit, tuple) and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                tag = self._tags[value] = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            return tag
        result: str = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        return result


class Position(NamedTuple):
    """A place in a source file; ``line`` and ``col`` are 1-based (a tuple: cheap to make by the million)."""

    file: str
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = 16 * 1024 * 1024
    max_depth: int = 64
    max_nodes: int = 2_000_000
    max_alias_nodes: int = 100_000
    """Nodes reached again through aliases (a "billion laughs" document is refused past this)."""


class PositionMap:
    """Where each path of the plain data came from: the key's position and the value's position.

    Paths are tuples of mapping keys and list indexes, exactly as pydantic reports ``loc``.
    ``raw`` keeps the source text of scalars YAML turned into booleans from words other than
    true/false (``no``, ``on`` ...), so messages can explain them.
    """

    __slots__ = ("_keys", "_raw", "_values")

    def __init__(self) -> None:
        # a Position, or (file, PyYAML mark) turned into a Position only when asked for: a big config
        # has hundreds of thousands of positions and needs a handful
        self._keys: dict[Path, Position | tuple[str, Mark]] = {}
        self._values: dict[Path, Position | tuple[str, Mark]] = {}
        self._raw: dict[Path, str] = {}

    def set_key(self, path: Path, position: Position) -> None:
        self._keys[path] = position

    def set_value(self, path: Path, position: Position) -> None:
        self._values[path] = position

    def set_both(self, path: Path, key: Position, value: Position) -> None:
        """``set_key`` and ``set_value`` in one call (readers record hundreds of thousands)."""
        self._keys[path] = key
        self._values[path] = value

    def set_key_mark(self, path: Path, file: str, mark: Mark) -> None:
        """Record a PyYAML mark (0-based ``line``/``column``) as the key position."""
        self._keys[path] = (file, mark)

    def set_value_mark(self, path: Path, file: str, mark: Mark) -> None:
        self._values[path] = (file, mark)

    def set_raw(self, path: Path, text: str) -> None:
        self._raw[path] = text

    def key(self, path: Path) -> Position | None:
        return _position(self._keys.get(path))

    def value(self, path: Path) -> Position | None:
        return _position(self._values.get(path))

    def raw(self, path: Path) -> str | None:
        return self._raw.get(path)

    def locate(self, path: Path, *, prefer_key: bool = False) -> Position | None:
        """The best position for ``path``: itself (key or value), else its nearest recorded ancestor."""
        for n in range(len(path), -1, -1):
            prefix = path[:n]
            first, second = (self._keys, self._values) if prefer_key else (self._values, self._keys)
            found = first.get(prefix) or second.get(prefix)
            if found is not None:
                return _position(found)
        return None

    def update(self, other: PositionMap) -> None:
        self._keys.update(other._keys)
        self._values.update(other._values)
        self._raw.update(other._raw)


def _position(stored: Position | tuple[str, Mark] | None) -> Position | None:
    if stored is None or isinstance(stored, Position):
        return stored
    file, mark = stored
    return Position(file, mark.line + 1, mark.column + 1)


@dataclass(slots=True)
class SourceResult:
    """What a reader returns: data (None when unusable), positions, texts by file, diagnostics."""

    data: Document | None
    positions: PositionMap
    source_files: dict[str, str]
    diagnostics: list[Diagnostic]


def decode_bytes(raw: bytes, file: str, limits: Limits = Limits()) -> tuple[str | None, list[Diagnostic]]:
    """Checks size, NUL bytes and UTF-8; returns the text or the reason it cannot be a config."""
    if len(raw) > limits.max_bytes:
        return None, [error("file_too_large",
                            f"the file is {len(raw)} bytes, more than the limit of {limits.max_bytes}", file)]
    if b"\x00" in raw:
        line, col = _line_col_of(raw, raw.index(b"\x00"))
        return None, [error("binary_file", "the file contains NUL bytes; this is not a text configuration",
                            file, line, col)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col_of(raw, exc.start)
        return None, [error("encoding", f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                            file, line, col)]
    return text.removeprefix("\ufeff"), []


def _line_col_of(raw: bytes, offset: int) -> tuple[int, int]:
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, len(raw[start:offset].decode("utf-8", "replace")) + 1


def load_yaml(text: str, file: str, limits: Limits = Limits()) -> SourceResult:
    """YAML text -> plain data + positions; problems are diagnostics, never exceptions."""
    positions = PositionMap()
    sources = {file: text}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return SourceResult(None, positions, sources, [_yaml_error(exc, file)])
    except yaml.reader.ReaderError as exc:
        line, col = _line_col_of(text.encode("utf-8", "replace"), len(text[: exc.position].encode("utf-8")))
        return SourceResult(None, positions, sources, [
            error("yaml_syntax", f"character {exc.character!r} is not allowed in YAML", file, line, col)])
    except (yaml.YAMLError, RecursionError) as exc:
        return SourceResult(None, positions, sources, [error("yaml_syntax", _one_line(str(exc)), file, 1, 1)])
    if root is None:
        return SourceResult(None, positions, sources, [
            error("empty_config", "the configuration is empty", file, 1, 1,
                  hint="a configuration needs at least a 'vrrp_instances' or 'virtual_servers' section")])
    walker = _Walker(file, positions, limits)
    try:
        data = walker.walk(root, ())
    except _TooBig as exc:
        return SourceResult(None, positions, sources, [*walker.diagnostics, exc.diagnostic])
    if not isinstance(data, dict):
        walker.diagnostics.append(error(
            "top_level_type", "the top level of the configuration must be a mapping of sections",
            file, root.start_mark.line + 1, root.start_mark.column + 1))
        data = None
    return SourceResult(data, positions, sources, walker.diagnostics)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _yaml_error(exc: yaml.MarkedYAMLError, file: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        message = f"{exc.problem} ({exc.context})"
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return error("yaml_syntax", _one_line(message), file, line, col)


class _TooBig(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class _Walker:
    """Builds plain data from a composed node graph, recording positions as it goes."""

    def __init__(self, file: str, positions: PositionMap, limits: Limits) -> None:
        self.file = file
        self.positions = positions
        self.limits = limits
        self.diagnostics: list[Diagnostic] = []
        self.constructor = SafeConstructor()
        self.nodes = 0
        self.alias_nodes = 0
        self.in_alias = 0
        self.scalars: dict[tuple[str, str], Scalar] = {}
        self.seen: set[int] = set()
        self.active: set[int] = set()

    def _pos(self, node: Node) -> Position:
        return Position(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def _err(self, code: str, message: str, node: Node, path: Path, hint: str | None = None) -> None:
        pos = self._pos(node)
        self.diagnostics.append(error(code, message, self.file, pos.line, pos.col, hint=hint, path=path))

    def _fatal(self, code: str, message: str, node: Node, path: Path) -> _TooBig:
        pos = self.positions.key(path[:1]) or self._pos(node)
        return _TooBig(error(code, message, self.file, pos.line, pos.col, path=path))

    def walk(self, node: Node, path: Path) -> Value:
        revisit = self._count(node, path)
        self.positions.set_value_mark(path, self.file, node.start_mark)
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        key = id(node)
        self.active.add(key)
        self.in_alias += revisit
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self._child(item, (*path, i)) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(key)
            self.in_alias -= revisit
        raise self._fatal("yaml_syntax", "unexpected YAML node", node, path)  # pragma: no cover

    def _child(self, node: Node, path: Path) -> Value:
        """``walk`` for a child; a string, or a number already read once (most of a config), takes a
        short cut that counts it against the same limits and records the same position."""
        if node.__class__ is not ScalarNode or len(path) > self.limits.max_depth:
            return self.walk(node, path)
        tag = node.tag
        if tag == _STR_TAG:
            value: Scalar = node.value
        else:  # a number or null read before: the cached value (booleans keep the long way, for ``raw``)
            cached = self.scalars.get((tag, node.value), _MISSING)
            if cached is _MISSING or cached.__class__ is bool:
                return self.walk(node, path)
            value = cached
        self.nodes += 1
        if self.nodes > self.limits.max_nodes or self.in_alias:
            self.nodes -= 1
            return self.walk(node, path)  # the limits' own checks and messages
        self.positions._values[path] = (self.file, node.start_mark)  # set_value_mark, inlined
        return value

    def _count(self, node: Node, path: Path) -> bool:
        """Counts the node against the limits; True if it is a collection reached again (an alias)."""
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise self._fatal("too_large", f"the document has more than {self.limits.max_nodes} values",
                              node, path)
        if len(path) > self.limits.max_depth:
            raise self._fatal("too_deep", f"the document nests deeper than {self.limits.max_depth} levels",
                              node, path)
        key = id(node)
        if key in self.active:
            raise self._fatal("yaml_alias", "an alias refers to a value that contains it (recursive alias)",
                              node, path)
        revisit = key in self.seen
        if revisit or self.in_alias:
            self.alias_nodes += 1
            if self.alias_nodes > self.limits.max_alias_nodes:
                raise self._fatal(
                    "yaml_alias",
                    f"aliases expand to more than {self.limits.max_alias_nodes} values (an alias bomb?)",
                    node, path)
        elif not isinstance(node, ScalarNode):
            self.seen.add(key)
        return revisit

    def _scalar(self, node: ScalarNode, path: Path) -> Scalar:
        tag = node.tag
        text: str = node.value
        if tag == _STR_TAG or tag in _TEXT_TAGS:
            return text
        cached = self.scalars.get((tag, node.value), _MISSING)
        if cached is not _MISSING:
            if isinstance(cached, bool) and node.value.lower() not in _BOOL_WORDS:
                self.positions.set_raw(path, node.value)
            return cached
        if tag not in _PLAIN_TAGS:
            self._err("yaml_tag", f"unsupported YAML tag '{tag}'", node, path)
            return text
        try:
            value: Scalar = self.constructor.construct_object(node)  # a plain tag: a scalar
        except (yaml.YAMLError, ValueError, OverflowError):
            self._err("yaml_syntax", f"cannot read the value '{node.value}'", node, path)
            return text
        if isinstance(value, bool) and node.value.lower() not in _BOOL_WORDS:
            self.positions.set_raw(path, node.value)
        self.scalars[(tag, node.value)] = value
        return value

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Value]:
        if node.tag != _MAP_TAG:
            self._err("yaml_tag", f"unsupported YAML tag '{node.tag}'", node, path)
        out: dict[str, Value] = {}
        explicit = node.value
        if any(key_node.tag == _MERGE_TAG for key_node, _ in explicit):
            explicit = []
            for key_node, value_node in node.value:
                if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE_TAG:
                    out.update(self._merge(value_node, path))
                else:
                    explicit.append((key_node, value_node))
        first_seen: dict[str, Node] = {}
        keys, file, child = self.positions._keys, self.file, self._child
        for key_node, value_node in explicit:
            if key_node.__class__ is ScalarNode and key_node.tag == _STR_TAG:
                key = key_node.value
            else:
                key = self._key(key_node, path)
                if key is None:
                    continue
            if key in first_seen:
                first = self._pos(first_seen[key])
                self._err("duplicate_key",
                          f"duplicate key '{key}' (first defined at line {first.line}, column {first.col})",
                          key_node, (*path, key), hint="YAML would silently keep only the last one")
                continue
            first_seen[key] = key_node
            key_path = (*path, key)
            keys[key_path] = (file, key_node.start_mark)
            out[key] = child(value_node, key_path)
        return out

    def _merge(self, value_node: Node, path: Path) -> dict[str, Value]:
        """``<<: *defaults`` or ``<<: [*a, *b]``: keys of the merged mappings (earlier ones win)."""
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        merged: dict[str, Value] = {}
        for source in sources:
            if not isinstance(source, MappingNode):
                self._err("yaml_merge", "a merge key ('<<') takes a mapping or a list of mappings",
                          source, path)
                continue
            own = self.positions.value(path)
            walked = self.walk(source, path)  # guarded like any value: depth, recursion, alias budget
            if own is not None:
                self.positions.set_value(path, own)
            if isinstance(walked, dict):  # a mapping node walks to a dict
                for key, value in walked.items():
                    merged.setdefault(key, value)
        return merged

    def _key(self, key_node: Node, path: Path) -> str | None:
        if isinstance(key_node, ScalarNode) and key_node.tag == _STR_TAG:
            return str(key_node.value)
        if isinstance(key_node, ScalarNode):
            text = key_node.value
            hint = f"write it in quotes: '{text}'" if key_node.tag != f"{_TAG}null" else None
            self._err("key_type", f"a key must be a string; YAML reads '{text}' as {_kind(key_node.tag)}",
                      key_node, path, hint=hint)
            return None
        self._err("key_type", "a key must be a string, not a list or mapping", key_node, path)
        return None


def _kind(tag: str) -> str:
    name = tag.removeprefix(_TAG)
    return {"bool": "a boolean", "int": "an integer", "float": "a number", "null": "null"}.get(name, name)
