"""Run conditions and the JSON result file, shared by bench/failover and bench/scale."""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any


def conditions() -> dict[str, Any]:
    """When and where a run happened (the numbers mean little without the load next to them)."""
    return {"date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "host": platform.node(), "kernel": platform.release(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "loadavg": os.getloadavg()}


def write_json(out_dir: Path | None, name: str, payload: dict[str, Any]) -> Path:
    """`payload` as `{out_dir}/{name}-{UTC stamp}.json` (out_dir: a new temp directory when None)."""
    directory = out_dir if out_dir is not None else Path(tempfile.mkdtemp(prefix="pyka-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
