"""The chaos invariants, as questions to the record (pure: timelines in, problems out).

* `one-holder`: from heal + Master_Down_Interval + one advert interval to the end of the quiet
  period, every configured VIP has exactly one holder (the same one), every VIP no longer configured none;
* `client-arp`: the client's neighbour entry for a VIP names its holder's MAC (of the interface holding
  it) within 1 s of the holder becoming the only one, or of the client's neighbour lock time running out,
  whichever is later; and the switch sends that MAC to the holder's port (or, not knowing it, floods
  it): with `use_vmac` both directors have the VIP's MAC, so the client's entry alone cannot tell
  whether its frames reach the holder; an IPv6 VIP the client had no usable entry for when the fault
  began is left to the switch's port (`ignores_unsolicited_na`: no NA can reach that entry);
* `vip-device`: at the end of the quiet period each VIP is on the device its instance says:
  `vrrp.<VRID>` with `use_vmac`, else the interface;
* `restart-clean`: a restarted daemon holds none of the VIPs its predecessor left from one advert
  interval after it started until it takes a VIP as master;
* `reload-keeps`: a reload never removes, on the master, an address both configs keep there;
* `alive`: no daemon exited unless the schedule killed it;
* `counters`: pykeepalived's counters agree with its history (netns_lab.counters.consistency_problems);
  gated by #11: drops add up and a flood is counted to the last packet.
"""

from __future__ import annotations

from collections.abc import Mapping

from netns_lab.timeline import NEIGH_LOCKTIME_S, AddressTimeline, NeighbourTimeline

CLIENT_BOUND_S = 1.0


def one_holder(tl: AddressTimeline, expected: Mapping[str, int], start: float, end: float) -> list[str]:
    """Each address of `expected` has that many holders (0 or 1) all through [start, end), unchanged."""
    problems = []
    for vip, count in sorted(expected.items()):
        segments = tl.segments(vip, start, end)
        wrong = [s for s in segments if len(s.holders) != count]
        if wrong:
            worst = max(wrong, key=lambda s: s.duration)
            plural = "s" if count != 1 else ""
            problems.append(f"{vip}: held by {sorted(worst.holders) or 'nobody'} for {worst.duration:.3f} s "
                            f"(expected {count} holder{plural}) from +{worst.start - start:.3f} s")
        elif len({s.holders for s in segments}) > 1:
            problems.append(f"{vip}: changed holder during the quiet period: "
                            f"{[sorted(s.holders) for s in segments]}")
    return problems


def client_deadline(nt: NeighbourTimeline, vip: str, settled_at: float,
                    bound_s: float = CLIENT_BOUND_S) -> float:
    """By when the client must name the holder: `bound_s` after it settled, or after the client's lock
    time from its entry's last change, whichever is later (a split brain shorter than the lock time
    makes the kernel ignore the real master's first announcements: only its next burst can land)."""
    last = nt.last_change(vip, settled_at)
    ready = settled_at if last is None else max(settled_at, last + NEIGH_LOCKTIME_S)
    return ready + bound_s


def client_follows(nt: NeighbourTimeline, vip: str, mac: str, settled_at: float,
                   bound_s: float = CLIENT_BOUND_S) -> str | None:
    """The client names `mac` for `vip` by client_deadline() (None: it does)."""
    deadline = client_deadline(nt, vip, settled_at, bound_s)
    if nt.first_mac(vip, mac, settled_at, deadline) is not None:
        return None
    return (f"{vip}: the client's entry names {nt.mac(vip, deadline)} {deadline - settled_at:.3f} s after "
            f"the holder settled, not {mac}")


def ignores_unsolicited_na(nt: NeighbourTimeline, vip: str, at: float) -> str | None:
    """Why the client's kernel ignores every unsolicited NA for the IPv6 `vip` from `at` on (None: it
    takes them): it has no entry (RFC 4861 §7.2.5: discarded), or a FAILED one (Linux drops NAs for
    those; an IPv4 GARP still updates a FAILED entry). Its next packet to `vip` resolves it afresh: no
    daemon's announcement can reach it before that (a VIP removed by a reload while the client probed
    its entry, then added again: seed 960029605, ka-pyka --ipv6-vmac)."""
    if ":" not in vip or nt.mac(vip, at) is not None:
        return None
    return "the client had no usable entry (absent or FAILED) when the fault began: it ignores NAs"


def restart_clean(tl: AddressTimeline, host: str, stale: set[str], clean_from: float,
                  end: float, *, started: float | None = None) -> list[str]:
    """`host` holds none of `stale` in [clean_from, its next addition of that VIP or `end`). The next
    addition counts from `started` (the daemon's start, default `clean_from`): a restarted daemon that
    removed the stale VIP and took it back as master within its first advert interval holds it rightly.
    A VIP never removed shows no addition (the kernel reports none for an address already there)."""
    problems = []
    for vip in sorted(stale):
        additions = tl.additions(host, vip, clean_from if started is None else started, end)
        until = max(clean_from, additions[0].at) if additions else end
        held = tl.held(host, vip, clean_from, until)
        if held > 0:
            problems.append(f"{vip}: the restarted {host} still held it {held:.3f} s after its start "
                            f"+ one advert interval")
    return problems


def reload_keeps(tl: AddressTimeline, kept: Mapping[str, str], start: float, end: float) -> list[str]:
    """No address of `kept` (vip -> its master) went missing from its master in [start, end)."""
    problems = []
    for vip, host in sorted(kept.items()):
        missing = tl.missing(host, vip, start, end)
        if missing > 0:
            problems.append(f"{vip}: kept by both configs on the master {host}, but missing {missing:.3f} s")
    return problems


def vip_device(tl: AddressTimeline, vip: str, holder: str, device: str, at: float) -> str | None:
    """`vip` sits on `holder`'s `device` (and nowhere else there) at `at` (None: it does)."""
    devices = tl.interfaces(holder, vip, at)
    if devices == {device}:
        return None
    return f"{vip}: on {holder}'s {sorted(devices) or 'no device'}, expected {device}"


def switch_follows(learned: Mapping[str, str], mac: str, port: str, ports: Mapping[str, str]) -> str | None:
    """The switch sends frames for `mac` to `port` (the holder's), or floods them, not knowing `mac`
    (None: it does); `learned`: its forwarding database (MAC -> port), `ports`: port -> host, to name
    where it sends them instead."""
    found = learned.get(mac.lower())
    if found is None or found == port:
        return None
    return (f"the switch sends frames for {mac} to {ports.get(found, found)}'s port, not to the holder's "
            f"({ports.get(port, port)})")
