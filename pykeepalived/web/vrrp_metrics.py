"""The VRRP instances' series of /metrics, kept between scrapes and rewritten only where they changed.

The daemon hands :class:`InstanceMetrics` its running instances (``daemon/runner.py``'s slots: an
instance's spec, its router and the glue's counts, as ``web.source.InstanceSource``) and the VIPs'
presence in the kernel.  A scrape (:meth:`InstanceMetrics.refresh`) looks at each instance's
``view_generation`` and per-advert counters (a few attribute reads) and rewrites:

* the adverts sent / received lines of the instances whose counter moved (a steady master or backup
  changes only those: ``vrrp/router.py`` Rule 9);
* every line of an instance whose view generation moved (state, priority, master, trackers, drops,
  transitions ...), or whose GARP/NA count moved, or that showed a split brain (one ends with time);
* the ``vip_present`` lines of every instance when the kernel's addresses changed;
* everything when the set of instances (or a spec) changed: a reload.

Everything is read as of the scrape (the counters of the loop turn it runs in); nothing is served from
an older reading.  Families and their meaning: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

from pykeepalived.vrrp.stats import DROP_COUNTERS, VrrpStats
from pykeepalived.vrrp.tracking import TrackerKind
from pykeepalived.web.exposition import Block, Family, Table, label_text, value_text
from pykeepalived.web.source import InstanceSource, Presence, Touched

PREFIX = "pykeepalived_"
STATES = ("INITIALIZE", "BACKUP", "MASTER", "FAULT")
VRRP_DROP_REASONS = DROP_COUNTERS
"""The drop reasons the core counts by name (the same the status document's ``drops`` totals add up),
in the order their series are written; each series (these and any other reason, ``not_a_peer``,
``in_fault`` ...) appears once its reason was counted: 13 series per instance that are 0 on a healthy
LAN were a third of the body (docs/metrics.md)."""
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
COUNTERS = (
    ("pri_zero_sent", _counter("vrrp_priority_zero_adverts_sent", "priority-0 adverts sent (release)")),
    ("pri_zero_rcvd", _counter("vrrp_priority_zero_adverts_received", "priority-0 adverts received")),
    ("become_master", _counter("vrrp_become_master", "times the instance became MASTER")),
    ("release_master", _counter("vrrp_release_master", "times the instance left MASTER")),
    ("addr_list_err", _counter("vrrp_address_list_mismatches", "accepted adverts whose address list "
                                                              "differs from ours")),
    ("split_brain_detected", _counter("vrrp_split_brains", "split brain episodes detected (another "
                                                           "master heard)")),
    ("master_down_timer_expired", _counter("vrrp_master_down_timer_expired", "Master_Down_Timer expiries")),
)
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


class _Entry:
    """What the last scrape saw of one instance."""

    __slots__ = ("announced", "announced_key", "generation", "me", "received", "received_prefix", "router",
                 "sent", "sent_prefix", "source", "spec", "stats")

    def __init__(self, source: InstanceSource) -> None:
        self.source = source
        self.spec = source.spec
        self.router = source.router
        self.stats: VrrpStats = self.router.stats
        name = (self.spec.name,)
        self.me = label_text(ME, name)
        """``{vrrp_instance="NAME"}``: the labels of most of its series."""
        self.sent_prefix = SENT.prefix(name).encode()
        self.received_prefix = RECEIVED.prefix(name).encode()
        self.announced_key = "garp_sent" if self.spec.key[1] == 4 else "na_sent"
        self.generation = self.announced = self.sent = self.received = -1


class InstanceMetrics:
    """The instances' families (see the module docstring).  ``instances()`` returns the running
    instances; ``touched``, when given, is a set the daemon adds every instance that handled an event
    to (``daemon.runner.VrrpRunner.observe_events``: only those are looked at; without it, every
    instance is, every time); ``presence_generation()`` changes whenever the kernel's addresses may
    have changed, ``glue_generation()`` whenever an instance's GARP/NA count may have changed."""

    def __init__(self, instances: Callable[[], Collection[InstanceSource]], presence: Presence | None = None,
                 presence_generation: Callable[[], object] = lambda: None,
                 glue_generation: Callable[[], object] = lambda: None,
                 touched: Touched | None = None) -> None:
        self._instances = instances
        self._presence = presence
        self._presence_generation = presence_generation
        self._glue_generation = glue_generation
        self._touched = touched
        self.table = Table(FAMILIES)
        self._members: tuple[InstanceSource, ...] = ()
        self._entries: list[_Entry] = []
        self._index: dict[InstanceSource, int] = {}
        self._pending: set[int] = set()
        """Instances still to look at (a refresh that ran out of its budget leaves some)."""
        self._split_brains: set[int] = set()
        self._presence_seen: object = object()
        self._glue_seen: object = object()
        self.rewritten = 0
        """Instances whose every line was written again (for the benchmark and tests)."""
        self.looked_at = 0
        """Instances looked at (for the benchmark and tests)."""

    def refresh(self, now: float, budget: Callable[[], bool] = lambda: False) -> bool:
        """Bring the lines up to date as of ``now`` (the routers' monotonic clock).  ``budget()``
        True asks to stop after the current instance written again: returns False when not done
        (call again, on a later loop turn; what was done stays done)."""
        members = tuple(self._instances())
        touched = self._touched
        if members != self._members:
            self._rebuild(members)
        elif touched is None:
            self._pending.update(range(len(self._entries)))
        elif touched:
            positions = self._index
            self._pending.update(positions[slot] for slot in touched if slot in positions)
            touched.clear()
        presence = self._presence_generation()
        if presence != self._presence_seen:
            for entry in self._entries:
                self._vips(entry)
            self._presence_seen = presence
        glue = self._glue_generation()
        if glue != self._glue_seen:  # GARPs/NAs went out (paced ones without an event): whose?
            self._pending.update(index for index, entry in enumerate(self._entries)
                                 if entry.source.counters.get(entry.announced_key, 0) != entry.announced)
            self._glue_seen = glue
        pending = self._pending
        pending |= self._split_brains  # a split brain also ends with time alone
        for index in sorted(pending):
            pending.discard(index)
            if self._look(index, now) and budget():
                return False
        return True

    def blocks(self) -> list[Block]:
        return self.table.blocks()

    def _rebuild(self, members: tuple[InstanceSource, ...]) -> None:
        """A new set of instances (start, reload): every line is written again."""
        self._members = members
        self.table.clear()
        ordered = sorted(members, key=lambda m: (m.spec.name, m.spec.key[2]))
        self._entries = [_Entry(source) for source in ordered]
        self._index = {entry.source: index for index, entry in enumerate(self._entries)}
        self._pending = set(range(len(ordered)))
        self._split_brains = set()
        self._presence_seen = object()
        if self._touched is not None:
            self._touched.clear()

    def _look(self, index: int, now: float) -> bool:
        """Write what changed of one instance; True when it wrote every line again."""
        self.looked_at += 1
        entry = self._entries[index]
        source = entry.source
        if entry.router.view_generation != entry.generation or index in self._split_brains \
                or source.spec is not entry.spec \
                or source.counters.get(entry.announced_key, 0) != entry.announced:
            self._rewrite(index, now)
            return True
        stats, table = entry.stats, self.table
        if stats.advert_sent != entry.sent:
            entry.sent = stats.advert_sent
            table.put(entry, _SENT_INDEX, entry.sent_prefix + value_text(entry.sent).encode() + b"\n")
        if stats.advert_rcvd != entry.received:
            entry.received = stats.advert_rcvd
            text = value_text(entry.received).encode()
            table.put(entry, _RECEIVED_INDEX, entry.received_prefix + text + b"\n")
        return False

    def _vips(self, entry: _Entry) -> None:
        presence = self._presence
        lines = []
        if presence is not None:
            name = entry.spec.name
            for vip in entry.spec.vips:
                present = presence(vip.dev, vip.address)
                if present is not None:
                    lines.append(VIP_PRESENT.line((name, str(vip.address), vip.dev), 1 if present else 0))
        self.table.put(entry, _VIPS, "".join(lines).encode())

    def _rewrite(self, index: int, now: float) -> None:
        """Every line of one instance, as of ``now``."""
        self.rewritten += 1
        entry = self._entries[index]
        source = entry.source
        router = entry.router
        entry.spec = spec = source.spec
        entry.generation = router.view_generation
        stats = entry.stats
        entry.sent, entry.received = sent, received = stats.advert_sent, stats.advert_rcvd
        entry.announced = source.counters.get(entry.announced_key, 0)
        view = router.view(now)
        if view.split_brain:
            self._split_brains.add(index)
        else:
            self._split_brains.discard(index)
        interface, ip_family, vrid = spec.key
        name, me = spec.name, entry.me
        ident = (name, interface, f"v{ip_family}", str(vrid))
        announced = GARPS if ip_family == 4 else NAS
        lines: dict[Family, str] = {
            INFO: INFO.line((*ident, str(router.config.version), spec.sync_group or ""), 1),
            STATE: "".join(STATE.line((*ident, s), 1 if view.state.value == s else 0) for s in STATES),
            BASE: BASE.line_of(me, view.base_priority),
            EFFECTIVE: EFFECTIVE.line_of(me, view.effective_priority),
            DOWN: DOWN.line_of(me, round(view.master_down_interval_s, 6)),
            ADVERT_INTERVAL: ADVERT_INTERVAL.line_of(me, router.config.adver_int_cs / 100),
            MASTER_INTERVAL: MASTER_INTERVAL.line_of(me, view.master_adver_int_cs / 100),
            SPLIT_BRAIN: SPLIT_BRAIN.line_of(me, 1 if view.split_brain else 0),
            SENT: SENT.line_of(me, sent),
            RECEIVED: RECEIVED.line_of(me, received),
            DROPPED: _drops(name, stats),
            TRANSITIONS: "".join(TRANSITIONS.line((name, *_states(key)), count)
                                 for key, count in sorted(stats.by_transition.items()) if "_to_" in key),
            announced: announced.line_of(me, entry.announced),
        }
        if view.master_priority is not None:
            lines[MASTER_PRIORITY] = MASTER_PRIORITY.line_of(me, view.master_priority)
        if view.master_address is not None:
            lines[MASTER_INFO] = MASTER_INFO.line((name, str(view.master_address)), 1)
        if source.transitions:
            lines[LAST_TRANSITION] = LAST_TRANSITION.line_of(me, round(source.transitions[-1].at_unix, 6))
        for field, counter in COUNTERS:
            lines[counter] = counter.line_of(me, getattr(stats, field))
        trackers: dict[Family, list[str]] = {TRACKER_VALUE: [], TRACKER_UP: [], TRACKER_ADJUSTMENT: [],
                                             TRACKER_FAULT: []}
        for tracker in view.trackers:
            labels = (name, tracker.name)
            if tracker.kind is TrackerKind.VALUE:
                trackers[TRACKER_VALUE].append(TRACKER_VALUE.line(labels, tracker.value))
            else:
                trackers[TRACKER_UP].append(TRACKER_UP.line(labels, 1 if tracker.ok else 0))
            trackers[TRACKER_ADJUSTMENT].append(TRACKER_ADJUSTMENT.line(labels, tracker.contribution))
            trackers[TRACKER_FAULT].append(TRACKER_FAULT.line(labels, 1 if tracker.fault else 0))
        lines.update((family, "".join(text)) for family, text in trackers.items())
        table = self.table
        for position, family in enumerate(FAMILIES):
            if position != _VIPS:
                table.put(entry, position, lines.get(family, "").encode())
        self._vips(entry)


def _drops(name: str, stats: VrrpStats) -> str:
    """The instance's drop counters that counted something (see :data:`VRRP_DROP_REASONS`)."""
    out = [DROPPED.line((name, reason), count) for reason in VRRP_DROP_REASONS
           if (count := getattr(stats, reason))]
    out += [DROPPED.line((name, reason), count) for reason, count in sorted(stats.other_drops.items())]
    return "".join(out)


def _states(key: str) -> tuple[str, str]:
    """``backup_to_master`` -> (``BACKUP``, ``MASTER``)."""
    old, new = key.split("_to_", 1)
    return old.upper(), new.upper()
