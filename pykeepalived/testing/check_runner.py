"""The real-server checks of a configuration, alone, printing each change as a JSON line.

``python -m pykeepalived.testing.check_runner CONFIG.json`` (a config in its JSON/YAML form) runs a
:class:`~pykeepalived.check.runner.CheckRunner` until SIGTERM and prints ``{"started": true}``, then
``{"rs": NAME, "up": BOOL, "reason": TEXT}`` per change.  Lab tests spawn it inside a namespace;
:func:`events` and :func:`last_state` read its output back.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.results import RealServerChanged
from pykeepalived.check.runner import CheckRunner
from pykeepalived.config.model import Config


def events(output: str) -> list[dict[str, object]]:
    """The JSON lines of the runner's output, in order."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def last_state(output: str, rs: str) -> bool | None:
    """The last reported state of real server ``rs`` (None if never reported)."""
    last = None
    for event in events(output):
        if event.get("rs") == rs:
            last = bool(event["up"])
    return last


def _print_change(change: RealServerChanged) -> None:
    print(json.dumps({"rs": change.rs.rs_name, "up": change.up, "reason": change.reason}), flush=True)


async def _main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        config = Config.model_validate(json.load(handle))
    runner = CheckRunner(checks_from_config(config), _print_change)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, runner.stop)
    print(json.dumps({"started": True}), flush=True)
    await runner.run()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
