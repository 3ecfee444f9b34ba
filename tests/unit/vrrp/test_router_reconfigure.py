"""A reload applied in place (``Reconfigure``): the state kept, no extra transition, and the change's
ordinary protocol consequences (issue #11's "in place" rows of the change table)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from pykeepalived.testing.routers import master, started
from pykeepalived.vrrp.events import (
    AddVips,
    EffectivePriorityChanged,
    Reconfigure,
    RemoveVips,
    SendAdvert,
    SendGarp,
    StateChanged,
    Timeout,
    TrackerChanged,
)
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.tracking import TrackerSpec

NEW = IPv4Address("198.51.100.201")


def reconfigure(router: VirtualRouter, now: float, announce: tuple[IPv4Address, ...] = (), **changes: object):
    return router.handle(Reconfigure(replace(router.config, **changes), announce), now)  # type: ignore[arg-type]


def test_a_master_with_a_new_vip_advertises_it_at_once_and_announces_only_the_new_one() -> None:
    router, at = master(version=3, adver_int_cs=100)
    actions = reconfigure(router, at + 0.3, (NEW,), vips=(*router.config.vips, NEW))
    assert [type(a) for a in actions] == [SendAdvert, SendGarp]
    assert actions[0].advert.addresses == router.config.vips  # type: ignore[union-attr]
    assert actions[1] == SendGarp((NEW,), router.config.garp_master_repeat)
    assert router.state is State.MASTER and router.stats.transitions == 2  # INITIALIZE->BACKUP->MASTER
    assert router.next_deadline() == at + 0.3 + 1.0  # the next advert one interval after this one
    assert not any(isinstance(a, AddVips | RemoveVips) for a in actions)  # the node's addresses: the plan's


def test_the_same_advert_sends_nothing_and_a_backup_changes_nothing_on_the_wire() -> None:
    router, at = master()
    assert reconfigure(router, at + 0.1, garp_master_repeat=2) == []
    backup = started(100)
    assert reconfigure(backup, 0.5, vips=(NEW,)) == []
    assert backup.state is State.BACKUP and backup.config.vips == (NEW,)


def test_a_priority_change_is_an_effective_priority_change_and_a_master_advertises_it() -> None:
    router, at = master(150, version=3, adver_int_cs=100)
    actions = reconfigure(router, at + 0.2, priority=90)
    assert actions[0] == SendAdvert(replace(actions[0].advert, priority=90))  # type: ignore[union-attr]
    assert actions[-1] == EffectivePriorityChanged(150, 90, State.MASTER)
    assert router.state is State.MASTER and router.master_priority == 90
    backup = started(100, version=3)
    down = backup.next_deadline()
    assert reconfigure(backup, 0.1, priority=200) == [EffectivePriorityChanged(100, 200, State.BACKUP)]
    later = backup.next_deadline()
    assert later is not None and down is not None and later < down  # a higher priority: less skew


def test_a_new_advert_interval_is_advertised_and_scheduled_at_once() -> None:
    router, at = master(version=3, adver_int_cs=100)
    actions = reconfigure(router, at + 0.5, adver_int_cs=20)
    assert actions[0].advert.adver_int_cs == 20  # type: ignore[union-attr]
    assert router.next_deadline() == at + 0.5 + 0.2


def test_a_new_tracker_that_is_down_faults_the_router_as_the_protocol_says() -> None:
    router, at = master()
    tracker = TrackerSpec("script:chk", weight=0, initial_ok=False)
    actions = reconfigure(router, at + 0.1, trackers=(tracker,))
    assert router.state is State.FAULT
    assert isinstance(actions[0], SendAdvert) and actions[0].advert.priority == 0
    assert isinstance(actions[1], RemoveVips) and isinstance(actions[-1], StateChanged)


def test_a_kept_tracker_keeps_its_reading_and_a_new_weight_applies_to_it() -> None:
    tracker = TrackerSpec("script:chk", weight=-30)
    router = started(150, trackers=(tracker,))
    router.handle(TrackerChanged("script:chk", ok=False), 0.1)
    assert router.effective_priority == 120
    actions = reconfigure(router, 0.2, trackers=(replace(tracker, weight=-50),))
    assert actions == [EffectivePriorityChanged(120, 100, State.BACKUP)]


def test_preempt_delay_removed_ends_a_running_delay_and_preemption_follows_the_new_setting() -> None:
    router = started(200, preempt_delay_cs=500)
    reconfigure(router, 0.1, preempt_delay_cs=0, preempt=False)
    assert router.config.preempt is False and router.state is State.BACKUP
    deadline = router.next_deadline()
    assert deadline is not None
    router.handle(Timeout(), deadline)
    assert router.state is State.MASTER  # silence still makes it master: preempt only concerns adverts


def test_a_master_whose_source_changes_advertises_from_it_at_once_and_reports_it_as_the_master() -> None:
    """An interface renumbered under a MASTER (or ``unicast_src_ip`` changed by a reload): its next
    advert is sent now (backups learn the new master address now) and its own address is the new one."""
    router, at = master(version=3, adver_int_cs=100)
    actions = reconfigure(router, at + 0.3, primary_address=NEW)
    assert [type(a) for a in actions] == [SendAdvert]
    assert router.state is State.MASTER and router.master_address == NEW
    assert router.next_deadline() == at + 0.3 + 1.0
    backup = started(100)
    assert reconfigure(backup, 0.5, primary_address=NEW) == []
    assert backup.master_address is None  # a backup's is the master's it heard, not its own
