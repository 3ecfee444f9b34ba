"""What every benchmark reports: its figures, the run's conditions, and the JSON files they go to.

A benchmark (``bench/<name>/run.py``) measures and then hands :func:`write_figures` a list of
:class:`Figure`: one number of pykeepalived's, with the same number of the reference implementation
measured in the same run (keepalived, ``ipvsadm --restore``, scapy) where there is one, and the goal.
``python -m bench`` runs every benchmark with ``--figures FILE`` and builds one table from those
files; a benchmark run on its own writes the file only when asked.

A figure without a number (``value`` None or not finite), or with a named reference but no reference
number, is a broken benchmark: :func:`problems` says so, and the suite fails on it.
"""

from __future__ import annotations

import compileall
import datetime
import json
import math
import os
import platform
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FIGURES_HELP = "write the figures as JSON to FILE (what `python -m bench` reads)"
"""The ``--figures FILE`` option's help text, the same in every benchmark."""

SCHEMA = 1


@dataclass(frozen=True, slots=True)
class Goal:
    """One goal on a figure: ``value <= limit`` ("max"), ``value >= limit`` ("min") or
    ``value / ref <= limit`` ("ratio_max")."""

    kind: str
    limit: float

    def __post_init__(self) -> None:
        if self.kind not in ("max", "min", "ratio_max"):
            raise ValueError(f"unknown goal kind {self.kind!r}")

    def text(self, unit: str, ref_name: str | None) -> str:
        if self.kind == "ratio_max":
            return f"<= {self.limit:g}x {ref_name or 'reference'}"
        return f"{'<=' if self.kind == 'max' else '>='} {self.limit:g} {unit}".rstrip()

    def met(self, value: float, ref: float | None) -> bool | None:
        if self.kind == "max":
            return value <= self.limit
        if self.kind == "min":
            return value >= self.limit
        if ref is None or not ref:
            return None
        return value / ref <= self.limit


def at_most(limit: float) -> Goal:
    return Goal("max", limit)


def at_least(limit: float) -> Goal:
    return Goal("min", limit)


def ratio_at_most(limit: float) -> Goal:
    return Goal("ratio_max", limit)


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number of pykeepalived's, next to the reference's from the same run."""

    name: str
    """What was measured, under which conditions: ``CPU per advert, 255 x VRRPv2 1 s``."""
    unit: str
    value: float | None
    """pykeepalived's number; None when the benchmark could not measure it (a failure)."""
    ref: float | None = None
    ref_name: str | None = None
    """The reference implementation (``keepalived``...); None: this figure has no reference."""
    goals: tuple[Goal, ...] = ()
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """pykeepalived / reference, for two positive numbers (a ratio of signed deviations says nothing)."""
        if not _finite(self.value) or not _finite(self.ref):
            return None
        assert self.value is not None and self.ref is not None
        return self.value / self.ref if self.value > 0 and self.ref > 0 else None

    @property
    def met(self) -> bool | None:
        """True/False when every goal could be judged; None when there is no goal or no number."""
        if not self.goals or not _finite(self.value):
            return None
        assert self.value is not None
        verdicts = [g.met(self.value, self.ref if _finite(self.ref) else None) for g in self.goals]
        if any(v is False for v in verdicts):
            return False
        return None if any(v is None for v in verdicts) else True

    def goal_text(self) -> str:
        return "; ".join(g.text(self.unit, self.ref_name) for g in self.goals)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["goals"] = [asdict(g) for g in self.goals]
        out["goal_text"] = self.goal_text()
        out["ratio"] = self.ratio
        out["met"] = self.met
        for key in ("value", "ref", "ratio"):  # JSON has no NaN: a missing number is null
            if not _finite(out[key]):
                out[key] = None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Figure:
        goals = tuple(Goal(str(g["kind"]), float(g["limit"])) for g in data.get("goals", ()))
        return cls(name=str(data["name"]), unit=str(data.get("unit", "")), value=_number(data.get("value")),
                   ref=_number(data.get("ref")), ref_name=data.get("ref_name"), goals=goals,
                   note=str(data.get("note", "")))


def _finite(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and _finite(x) else None


def problems(doc: Mapping[str, Any] | None) -> list[str]:
    """Why a benchmark's figures document does not count as a run that produced its numbers."""
    if doc is None:
        return ["no figures file"]
    out: list[str] = []
    if doc.get("schema") != SCHEMA:
        out.append(f"figures file schema {doc.get('schema')!r}, expected {SCHEMA}")
    raw = doc.get("figures")
    if not isinstance(raw, list) or not raw:
        return [*out, "no figures"]
    for i, item in enumerate(raw):
        try:
            fig = Figure.from_dict(item)
        except (KeyError, TypeError, ValueError) as exc:
            out.append(f"figure {i}: unreadable ({exc!r})")
            continue
        if fig.value is None:
            out.append(f"{fig.name}: no number for pykeepalived")
        if fig.ref_name and fig.ref is None:
            out.append(f"{fig.name}: no number for {fig.ref_name}")
    if doc.get("complete") is False:
        out.append("the benchmark says its run is incomplete")
    return out


def compile_package() -> bool:
    """Write pykeepalived's bytecode (``__pycache__``), as an installed package ships it.

    A checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (CI machines and this workplace set it) would
    otherwise compile every module from source in every process a benchmark starts: ~0.1 s of each
    start-up and each ``--check``, a cost no installed pykeepalived pays.  compileall writes even
    under that variable; modules already compiled are skipped.  True when every module compiled."""
    package = Path(__file__).resolve().parent.parent / "pykeepalived"
    return bool(compileall.compile_dir(str(package), quiet=2))


def conditions() -> dict[str, Any]:
    """When and where a run happened (the numbers mean little without the load next to them)."""
    return {"date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg": os.getloadavg()}


def write_json(out_dir: Path | None, name: str, payload: Mapping[str, Any]) -> Path:
    """`payload` as `{out_dir}/{name}-{UTC stamp}.json` (out_dir: a new temp directory when None)."""
    directory = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="pyka-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


@dataclass(slots=True)
class FigureSheet:
    """The figures of one benchmark run, written to ``--figures FILE`` when the run ends."""

    bench: str
    quick: bool
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    started: dict[str, Any] = field(default_factory=conditions)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def extend(self, figures: Iterable[Figure]) -> None:
        self.figures.extend(figures)

    def document(self, *, complete: bool) -> dict[str, Any]:
        return {"schema": SCHEMA, "bench": self.bench, "quick": self.quick, "complete": complete,
                "conditions": self.started, "loadavg_after": os.getloadavg(),
                "figures": [f.to_dict() for f in self.figures], "details": self.details}

    def write(self, path: Path | None, *, complete: bool) -> None:
        """Write the document to ``path`` (nothing when None: the benchmark was run on its own)."""
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.document(complete=complete), indent=2, default=str) + "\n")
        tmp.replace(path)


def read_figures(path: Path) -> dict[str, Any] | None:
    """The figures document at ``path``; None when it is missing or not JSON."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None

