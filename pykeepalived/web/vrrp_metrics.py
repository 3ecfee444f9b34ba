"""The VRRP instances' series of /metrics, kept between scrapes and rewritten only where they changed.

The daemon reports raw values (``web/values.py``: :class:`~pykeepalived.web.values.InstanceValues`,
what changed since the last snapshot); :class:`InstanceLines` (in the web child) applies them to the
lines it keeps:

* ``sent`` / ``received``: the adverts sent / received lines of the instances whose counter moved;
* ``rows``: every line of an instance (state, priority, master, trackers, drops, transitions ...);
* ``vips``: the ``vip_present`` lines of an instance;
* ``reset``: a new set of instances (a reload, or a new child): every line is written again.

Families and their meaning: docs/metrics.md (a drop reason's series appears once it was counted:
13 series per instance that are 0 on a healthy LAN were a third of the body).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from pykeepalived.web.channel import COUNTER_FIELDS, unpack_counters
from pykeepalived.web.exposition import Block, Family, Table, label_text

PREFIX = "pykeepalived_"
STATES = ("INITIALIZE", "BACKUP", "MASTER", "FAULT")
IDENTITY = ("vrrp_instance", "interface", "family", "vrid")
ME = ("vrrp_instance",)
TRACKER = ("vrrp_instance", "tracker")


def _gauge(name: str, text: str, labels: Sequence[str] = ME) -> Family:
    return Family(PREFIX + name, "gauge", text, labels)


def _counter(name: str, text: str, labels: Sequence[str] = ME) -> Family:
    return Family(PREFIX + name, "counter", text, labels)


INFO = _gauge("vrrp_instance_info", "one per VRRP instance: where it runs (always 1)",
              (*IDENTITY, "version", "sync_group"))
STATE = _gauge("vrrp_state", "1 for the instance's current state, 0 for the others", (*IDENTITY, "state"))
BASE = _gauge("vrrp_base_priority", "configured priority")
EFFECTIVE = _gauge("vrrp_effective_priority", "priority after tracker weights")
MASTER_PRIORITY = _gauge("vrrp_master_priority", "the master's priority as learned from its adverts "
                                                 "(ours while MASTER)")
DOWN = _gauge("vrrp_master_down_interval_seconds", "Master_Down_Interval (RFC 5798 6.1) with the current "
                                                   "priority and master advert interval")
ADVERT_INTERVAL = _gauge("vrrp_advert_interval_seconds", "configured advert interval")
MASTER_INTERVAL = _gauge("vrrp_master_advert_interval_seconds", "the master's advert interval (VRRPv3 "
                                                                "learns it from the master's adverts)")
MASTER_INFO = _gauge("vrrp_master_info", "the current master's address as far as this instance knows "
                                         "(ours while MASTER; always 1)", ("vrrp_instance", "master_address"))
LAST_TRANSITION = _gauge("vrrp_last_transition_timestamp_seconds", "Unix time of the last state change")
SPLIT_BRAIN = _gauge("vrrp_split_brain", "1 while another master this instance beats is heard "
                                         "(a split brain)")
SENT = _counter("vrrp_adverts_sent", "adverts sent")
RECEIVED = _counter("vrrp_adverts_received", "adverts received and accepted for processing")
COUNTERS = tuple(zip(COUNTER_FIELDS, (
    _counter("vrrp_priority_zero_adverts_sent", "priority-0 adverts sent (release)"),
    _counter("vrrp_priority_zero_adverts_received", "priority-0 adverts received"),
    _counter("vrrp_become_master", "times the instance became MASTER"),
    _counter("vrrp_release_master", "times the instance left MASTER"),
    _counter("vrrp_address_list_mismatches", "accepted adverts whose address list differs from ours"),
    _counter("vrrp_split_brains", "split brain episodes detected (another master heard)"),
    _counter("vrrp_master_down_timer_expired", "Master_Down_Timer expiries"),
), strict=True))
"""The router's other counters: (``VrrpStats`` field, family)."""
DROPPED = _counter("vrrp_adverts_dropped", "adverts for this instance dropped, by reason", (*ME, "reason"))
TRANSITIONS = _counter("vrrp_transitions", "state changes by from and to state",
                       (*ME, "from_state", "to_state"))
GARPS = _counter("vrrp_gratuitous_arps_sent", "gratuitous ARPs sent for the instance's addresses")
NAS = _counter("vrrp_unsolicited_nas_sent", "unsolicited neighbour advertisements sent")
VIP_PRESENT = _gauge("vrrp_vip_present", "1 if the virtual address is configured in the kernel now",
                     ("vrrp_instance", "address", "dev"))
TRACKER_VALUE = _gauge("vrrp_tracker_value", "a track_file's value", TRACKER)
TRACKER_UP = _gauge("vrrp_tracker_up", "1 if a tracked script / interface / process is up", TRACKER)
TRACKER_ADJUSTMENT = _gauge("vrrp_tracker_priority_adjustment", "what the tracker adds to the priority now",
                            TRACKER)
TRACKER_FAULT = _gauge("vrrp_tracker_fault", "1 if the tracker puts the instance in FAULT", TRACKER)

FAMILIES = (INFO, STATE, BASE, EFFECTIVE, MASTER_PRIORITY, DOWN, ADVERT_INTERVAL, MASTER_INTERVAL,
            MASTER_INFO, LAST_TRANSITION, SPLIT_BRAIN, SENT, RECEIVED, *(f for _, f in COUNTERS), DROPPED,
            TRANSITIONS, GARPS, NAS, VIP_PRESENT, TRACKER_VALUE, TRACKER_UP, TRACKER_ADJUSTMENT,
            TRACKER_FAULT)
_INDEX = {family: index for index, family in enumerate(FAMILIES)}
_SENT_INDEX, _RECEIVED_INDEX, _VIPS = _INDEX[SENT], _INDEX[RECEIVED], _INDEX[VIP_PRESENT]


class InstanceLines:
    """The instances' families, from the daemon's values (see the module docstring)."""

    def __init__(self) -> None:
        self.table = Table(FAMILIES)
        self._names: list[str] = []
        self._sent: list[int] = []
        self._received: list[int] = []
        self.rewritten = 0

    def blocks(self) -> list[Block]:
        return self.table.blocks()

    def apply(self, delta: Mapping[str, object]) -> None:
        """One delta of ``InstanceValues.take``; a malformed one raises ``ValueError`` (the reader
        then asks for everything again)."""
        try:
            self._apply(delta)
        except (TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ValueError(f"malformed instance values: {exc!r}") from None

    def _apply(self, delta: Mapping[str, object]) -> None:
        reset = delta.get("reset")
        if reset is not None:
            count = int(cast(int, reset))
            self.table.clear()
            self._names = [""] * count
            self._sent, self._received = [-1] * count, [-1] * count
            for index in range(count):  # fix the entities' order
                for position in range(len(FAMILIES)):
                    self.table.put(index, position, b"")
        # a row is what json.loads gave (the daemon's values, web/values.py): a boundary, read untyped;
        # a value of the wrong type raises here and the reader asks for everything again
        for index, row in cast(list[tuple[int, dict[str, Any]]], delta.get("rows") or ()):
            self._rewrite(index, row)
        for index, vips in cast(list[tuple[int, list[tuple[str, str, bool]]]], delta.get("vips") or ()):
            self._vips(index, vips)
        for key, family, position in (("sent", SENT, _SENT_INDEX), ("received", RECEIVED, _RECEIVED_INDEX)):
            packed = delta.get(key)
            if packed is not None:
                self._counters(unpack_counters(cast(str, packed)), family, position,
                               self._sent if key == "sent" else self._received)

    def _counters(self, values: list[int], family: Family, position: int, seen: list[int]) -> None:
        if len(values) != len(seen):
            raise IndexError(f"{len(values)} counters for {len(seen)} instances")
        table, names = self.table, self._names
        for index, (new, old) in enumerate(zip(values, seen, strict=True)):
            if new != old:
                seen[index] = new
                table.put(index, position, family.line_of(label_text(ME, (names[index],)), new).encode())

    def _vips(self, index: int, vips: list[tuple[str, str, bool]]) -> None:
        name = self._names[index]
        self.table.put(index, _VIPS, "".join(VIP_PRESENT.line((name, address, dev), 1 if present else 0)
                                             for address, dev, present in vips).encode())

    def _rewrite(self, index: int, row: dict[str, Any]) -> None:
        """Every line of one instance."""
        self.rewritten += 1
        name = str(row["name"])
        self._names[index] = name
        me = label_text(ME, (name,))
        ip_family = row["family"]
        ident = (name, str(row["interface"]), f"v{ip_family}", str(row["vrid"]))
        announced = GARPS if ip_family == 4 else NAS
        state = row["state"]
        sent, received = int(row["sent"]), int(row["received"])
        self._sent[index], self._received[index] = sent, received
        lines: dict[Family, str] = {
            INFO: INFO.line((*ident, str(row["version"]), str(row["sync_group"])), 1),
            STATE: "".join(STATE.line((*ident, s), 1 if state == s else 0) for s in STATES),
            BASE: BASE.line_of(me, row["base"]),
            EFFECTIVE: EFFECTIVE.line_of(me, row["effective"]),
            DOWN: DOWN.line_of(me, row["down_s"]),
            ADVERT_INTERVAL: ADVERT_INTERVAL.line_of(me, row["advert_s"]),
            MASTER_INTERVAL: MASTER_INTERVAL.line_of(me, row["master_advert_s"]),
            SPLIT_BRAIN: SPLIT_BRAIN.line_of(me, 1 if row["split_brain"] else 0),
            SENT: SENT.line_of(me, sent),
            RECEIVED: RECEIVED.line_of(me, received),
            DROPPED: "".join(DROPPED.line((name, str(reason)), count) for reason, count in row["drops"]),
            TRANSITIONS: "".join(TRANSITIONS.line((name, *_states(str(key))), count)
                                 for key, count in row["transitions"]),
            announced: announced.line_of(me, row["announced"]),
        }
        if row["master_priority"] is not None:
            lines[MASTER_PRIORITY] = MASTER_PRIORITY.line_of(me, row["master_priority"])
        if row["master_address"] is not None:
            lines[MASTER_INFO] = MASTER_INFO.line((name, str(row["master_address"])), 1)
        if row["last_transition"] is not None:
            lines[LAST_TRANSITION] = LAST_TRANSITION.line_of(me, row["last_transition"])
        for (_field, counter), value in zip(COUNTERS, row["counters"], strict=True):
            lines[counter] = counter.line_of(me, value)
        trackers: dict[Family, list[str]] = {TRACKER_VALUE: [], TRACKER_UP: [], TRACKER_ADJUSTMENT: [],
                                             TRACKER_FAULT: []}
        for tracker, is_value, value, ok, contribution, fault in row["trackers"]:
            labels = (name, str(tracker))
            if is_value:
                trackers[TRACKER_VALUE].append(TRACKER_VALUE.line(labels, value))
            else:
                trackers[TRACKER_UP].append(TRACKER_UP.line(labels, 1 if ok else 0))
            trackers[TRACKER_ADJUSTMENT].append(TRACKER_ADJUSTMENT.line(labels, contribution))
            trackers[TRACKER_FAULT].append(TRACKER_FAULT.line(labels, 1 if fault else 0))
        lines.update((family, "".join(text)) for family, text in trackers.items())
        table = self.table
        for position, family in enumerate(FAMILIES):
            if position != _VIPS:
                table.put(index, position, lines.get(family, "").encode())
        self._vips(index, row["vips"])


def _states(key: str) -> tuple[str, str]:
    """``backup_to_master`` -> (``BACKUP``, ``MASTER``)."""
    old, new = key.split("_to_", 1)
    return old.upper(), new.upper()
