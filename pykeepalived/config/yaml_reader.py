"""The YAML reader: text -> plain data + :class:`~pykeepalived.config.source.PositionMap`.

It composes the node tree with PyYAML (the C parser when available) and walks it itself, so that it
can record the position of every key and value, reject duplicate keys, note YAML 1.1 "surprise"
booleans (``no``, ``on``...) for better messages, and refuse alias expansion bombs, over-deep nesting,
huge files, binary data and non-UTF-8 text.  Every problem becomes a :class:`Diagnostic`; nothing
here raises on bad input.  Imported only when YAML is read (:func:`pykeepalived.config.source.load_yaml`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pykeepalived.config.diagnostics import Diagnostic, Path, error
from pykeepalived.config.document import Node as Value
from pykeepalived.config.document import Scalar
from pykeepalived.config.source import Limits, Position, PositionMap, SourceResult, line_col_of

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
        tags: dict[str, str] = {}
        general: Callable[[type[Node], str | None, tuple[bool, bool] | bool], str] = super().resolve

        # typed for the scalars it memoizes; a collection comes with None and a bool and only reaches
        # ``general`` (``implicit[0]`` is not evaluated for it)
        def resolve(kind: type[Node], value: str, implicit: tuple[bool, bool]) -> str:
            if kind is ScalarNode and implicit[0]:
                tag = tags.get(value)
                if tag is None:
                    tag = tags[value] = general(kind, value, implicit)
                return tag
            result: str = general(kind, value, implicit)
            return result

        # an attribute of the instance: the parser's call per node finds it without binding a method
        self.resolve = resolve  # type: ignore[method-assign]  # on purpose: see above

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        """No path resolvers: nothing to track."""

    def ascend_resolver(self) -> None:
        """No path resolvers: nothing to track."""


def read_yaml(text: str, file: str, limits: Limits) -> SourceResult:
    """YAML text -> plain data + positions; problems are diagnostics, never exceptions."""
    positions = PositionMap()
    sources = {file: text}
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        return SourceResult(None, positions, sources, [_yaml_error(exc, file)])
    except yaml.reader.ReaderError as exc:
        line, col = line_col_of(text.encode("utf-8", "replace"), len(text[: exc.position].encode("utf-8")))
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
        try:
            # without an anchor no node is reached twice: the walk need not track visits
            data = walker.walk(root, ()) if "&" in text else walker.walk_tree(root, ())
        except _MergeKey:  # merge keys take the full walk
            positions = PositionMap()
            walker = _Walker(file, positions, limits)
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


class _MergeKey(Exception):
    """:meth:`_Walker.walk_tree` met a merge key (``<<``): only :meth:`_Walker.walk` reads them."""


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

    def walk_tree(self, node: Node, path: Path) -> Value:
        """:meth:`walk` for a document without anchors, where no node is reached twice (most
        configurations): the same data, positions and diagnostics, without tracking visits.
        Raises :class:`_MergeKey` at a merge key."""
        self.nodes += 1
        if self.nodes > self.limits.max_nodes or len(path) > self.limits.max_depth:
            self.nodes -= 1
            return self.walk(node, path)  # the limits' own checks and messages
        self.positions._values[path] = (self.file, node.start_mark)  # set_value_mark, inlined
        cls, child, tree = node.__class__, self._child, self.walk_tree
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if cls is SequenceNode:
            return [child(item, (*path, i)) if item.__class__ is ScalarNode else tree(item, (*path, i))
                    for i, item in enumerate(node.value)]
        if cls is not MappingNode:
            return self.walk(node, path)  # pragma: no cover - the composer makes only these three
        if node.tag != _MAP_TAG:
            self._err("yaml_tag", f"unsupported YAML tag '{node.tag}'", node, path)
        out: dict[str, Value] = {}
        first_seen: dict[str, Node] = {}
        keys, file = self.positions._keys, self.file
        for key_node, value_node in node.value:
            if key_node.__class__ is ScalarNode and key_node.tag == _STR_TAG:
                key = key_node.value
            else:
                if key_node.tag == _MERGE_TAG:
                    raise _MergeKey
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
            out[key] = (child(value_node, key_path) if value_node.__class__ is ScalarNode
                        else tree(value_node, key_path))
        return out

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
