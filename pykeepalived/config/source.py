"""Where plain config data came from: :class:`Position`, :class:`PositionMap`, :class:`SourceResult`.

Both readers turn config text into plain data (dicts, lists, scalars) plus a :class:`PositionMap`:
YAML (:mod:`pykeepalived.config.yaml_reader`, through :func:`load_yaml`) and keepalived.conf
(:mod:`pykeepalived.config.kaconf`).  Every problem becomes a :class:`Diagnostic`; nothing here
raises on bad input.  PyYAML is imported only when YAML is read: a keepalived.conf check and the
daemon started on one never load it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Protocol

from pykeepalived.config.diagnostics import Diagnostic, Path, error
from pykeepalived.config.document import Document


class Mark(Protocol):
    """A PyYAML mark as the YAML reader records it (0-based ``line`` and ``column``); a protocol, so
    this module does not import PyYAML."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


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
        line, col = line_col_of(raw, raw.index(b"\x00"))
        return None, [error("binary_file", "the file contains NUL bytes; this is not a text configuration",
                            file, line, col)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = line_col_of(raw, exc.start)
        return None, [error("encoding", f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                            file, line, col)]
    return text.removeprefix("\ufeff"), []


def line_col_of(raw: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset of UTF-8 text."""
    line = raw.count(b"\n", 0, offset) + 1
    start = raw.rfind(b"\n", 0, offset) + 1
    return line, len(raw[start:offset].decode("utf-8", "replace")) + 1


def load_yaml(text: str, file: str, limits: Limits = Limits()) -> SourceResult:
    """YAML text -> plain data + positions; problems are diagnostics, never exceptions
    (:func:`pykeepalived.config.yaml_reader.read_yaml`)."""
    from pykeepalived.config.yaml_reader import read_yaml  # noqa: PLC0415  (PyYAML only for YAML)

    return read_yaml(text, file, limits)
