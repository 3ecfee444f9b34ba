"""Writing the keepalived-format dump files: where (``$TMPDIR`` or /tmp), how (whole, atomically),
and the ``STATS_CLEAR`` baseline.  See the package docstring for the files and signals."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from pykeepalived.web.kadump.counters import STATS_KEYS, render_json, render_stats
from pykeepalived.web.kadump.data import Doc, render_data
from pykeepalived.web.kadump.host import InterfaceFacts, interfaces

log = logging.getLogger(__name__)

DEFAULT_TMP_DIR = "/tmp"
FILE_MODE = 0o644


def dump_dir(environ: Mapping[str, str] | None = None) -> Path:
    """keepalived's ``set_tmp_dir``: ``$TMPDIR`` if it is absolute, else /tmp."""
    value = (os.environ if environ is None else environ).get("TMPDIR", "")
    return Path(value if value.startswith("/") else DEFAULT_TMP_DIR)


def data_file_name(*, use_instance: bool = False, instance: str | None = None,
                   namespace: str | None = None) -> str:
    """``keepalived.data``, or with ``data_use_instance``: ``keepalived.<namespace>_<instance>.data``."""
    if not use_instance or not (instance or namespace):
        return "keepalived.data"
    middle = (namespace or "") + ("_" if namespace and instance else "") + (instance or "")
    return f"keepalived.{middle}.data"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class DumpWriter:
    """Renders and writes the dump files for one signal; keeps the ``STATS_CLEAR`` baseline."""

    def __init__(self, directory: Path | None = None, *, data_name: str = "keepalived.data",
                 hosts: Callable[[], Sequence[InterfaceFacts]] = interfaces) -> None:
        self.directory = directory or dump_dir()
        self.data_name = data_name
        self._hosts = hosts
        self.baseline: dict[str, dict[str, int]] = {}
        self.written: dict[str, int] = {}
        self.errors = 0

    def files(self, function: str) -> list[Path]:
        """Where ``function`` (DATA, STATS, STATS_CLEAR, JSON) writes."""
        name = {"DATA": self.data_name, "STATS": "keepalived.stats", "STATS_CLEAR": "keepalived.stats",
                "JSON": "keepalived.json"}[function]
        return [self.directory / name]

    def render(self, function: str, doc: Doc) -> str:
        if function == "DATA":
            return render_data(doc, self._hosts())
        if function == "JSON":
            return render_json(doc, self.baseline)
        return render_stats(doc, self.baseline)

    def write(self, function: str, doc: Doc) -> Path | None:
        """Render and write; returns the path (None after a logged failure: never raises)."""
        (path,) = self.files(function)
        try:
            write_atomic(path, self.render(function, doc))
        except OSError as exc:
            self.errors += 1
            log.error("cannot write %s: %s", path, exc.strerror or exc)
            return None
        if function == "STATS_CLEAR":
            self.clear(doc)
        self.written[function] = self.written.get(function, 0) + 1
        log.info("wrote %s (%s)", path, function)
        return path

    def clear(self, doc: Doc) -> None:
        """From now on the dumps count from zero (keepalived clears its statistics)."""
        for inst in doc.get("instances") or ():
            counters = inst.get("counters") or {}
            self.baseline[str(inst.get("name"))] = {key: int(counters.get(key, 0)) for key in STATS_KEYS}
