"""`pykeepalived status` (human): master, peers heard, split brain, last transitions; the status
document's JSON Schema (`pykeepalived schema --status`, docs/status.schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pykeepalived.cli import main
from pykeepalived.commands.status import _format_details
from pykeepalived.web.status_schema import STATUS_SCHEMA

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())


def test_details_show_master_peers_split_brain_and_transitions() -> None:
    inst = {
        "master_address": "198.51.100.11", "master_priority": 150,
        "peers": [{"address": "198.51.100.12", "priority": 100, "adverts": 7, "last_heard": 995.0}],
        "split_brain": {"active": True, "peer": "198.51.100.12", "peer_priority": 100, "since": 990.0,
                        "episodes": 2},
        "transitions": [{"from": "INITIALIZE", "to": "BACKUP", "reason": "startup", "at": 900.0}] * 3
        + [{"from": "BACKUP", "to": "MASTER", "reason": "master_down_timer_expired", "at": 950.0}] * 4,
    }
    text = "\n".join(_format_details(inst, now=1000.0))
    assert "master 198.51.100.11 priority 150" in text
    assert "heard: 198.51.100.12 (priority 100, 5.0 s ago, 7 adverts)" in text
    assert "SPLIT BRAIN: another master 198.51.100.12 (priority 100)" in text
    assert "split brains detected: 2" in text
    assert text.count(" -> ") == 5  # the last five transitions
    assert text.splitlines()[-1].endswith("BACKUP -> MASTER (master_down_timer_expired)")


def test_details_of_a_quiet_instance_are_short() -> None:
    assert _format_details({"transitions": [{"from": "INITIALIZE", "to": "BACKUP", "reason": "startup",
                                             "at": 1.0}]}) == []


def test_schema_status_prints_the_published_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--status"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == STATUS_SCHEMA
    jsonschema.Draft202012Validator.check_schema(printed)
    assert json.loads((ROOT / "docs" / "status.schema.json").read_text()) == STATUS_SCHEMA


@pytest.mark.parametrize("case", ["ka1", "ka2", "ka3"])
def test_real_status_documents_validate(case: str) -> None:
    doc = json.loads((ROOT / "tests" / "golden" / "kadump" / f"{case}.status.json").read_text())
    jsonschema.validate(doc, STATUS_SCHEMA)
    doc["instances"][0]["state"] = "SLEEPING"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, STATUS_SCHEMA)
