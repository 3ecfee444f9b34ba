"""What a config reader placed: every data path of the plain data with its recorded positions, for
tests that compare two readings of one file (a fast path against the general one)."""

from __future__ import annotations

from pykeepalived.config.source import PositionMap

DataPath = tuple[str | int, ...]


def data_paths(data: object, prefix: DataPath = ()) -> list[DataPath]:
    """``prefix`` and the path of every value below it, depth first, in the data's order."""
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += data_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += data_paths(value, (*prefix, index))
    return found


def placed(positions: PositionMap, data: object) -> list[tuple[object, ...]]:
    """Every data path with its key position, value position and raw text (None where not recorded)."""
    return [(path, positions.key(path), positions.value(path), positions.raw(path))
            for path in data_paths(data)]
