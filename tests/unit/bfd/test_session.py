"""The BFD session state machine against RFC 5880's rules, on a fake clock (no sockets).

A test drives one session by hand: it feeds packets "from the peer" and Timeouts at the session's
deadline, and reads the packets the session sends.
"""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path

import pytest

from pykeepalived.bfd import events as ev
from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.packet import Authentication, AuthType, ControlPacket, Diag, SessionState
from pykeepalived.bfd.session import BfdSession
from pykeepalived.bfd.state import TRANSITIONS, transition_table_markdown

S = SessionState
PEER = ip_address("198.51.100.12")
PEER_DISCR = 0xABCD
MS = 1000


class Fixed:
    """The injected random source: always ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


def config(**overrides: object) -> SessionConfig:
    values: dict[str, object] = {"name": "to_peer", "peer": PEER, "desired_min_tx_us": 50 * MS,
                                 "required_min_rx_us": 50 * MS, "detect_mult": 3}
    values.update(overrides)
    return SessionConfig(**values)  # type: ignore[arg-type]


def pkt(state: S, *, your: int = 0x1234, tx: int = 50 * MS, rx: int = 50 * MS, mult: int = 3,
        **flags: bool) -> ControlPacket:
    return ControlPacket(state=state, detect_mult=mult, my_discriminator=PEER_DISCR, your_discriminator=your,
                         desired_min_tx_us=tx, required_min_rx_us=rx, **flags)  # type: ignore[arg-type]


def sent(actions: list[ev.Action]) -> list[ControlPacket]:
    return [a.packet for a in actions if isinstance(a, ev.SendControl)]


def changes(actions: list[ev.Action]) -> list[ev.StateChanged]:
    return [a for a in actions if isinstance(a, ev.StateChanged)]


def notes(actions: list[ev.Action]) -> list[ev.ClientNotify]:
    return [a for a in actions if isinstance(a, ev.ClientNotify)]


def rx(session: BfdSession, packet: ControlPacket, now: float, ttl: int = 255) -> list[ev.Action]:
    return session.handle(ev.PacketReceived(packet, ttl), now)


def session_in(state: S, *, random: float = 0.0, **overrides: object) -> BfdSession:
    """A session brought to ``state`` at t=0 the RFC way."""
    session = BfdSession(config(**overrides), 0x1234, Fixed(random))
    if state is S.ADMIN_DOWN:
        return session
    session.handle(ev.AdminUp(), 0.0)
    if state is S.INIT:
        rx(session, pkt(S.DOWN, your=0), 0.0)
    elif state is S.UP:
        rx(session, pkt(S.INIT), 0.0)
    assert session.state is state
    return session


RFC_RECEPTION = {
    # RFC 5880 §6.8.6, written out: (bfd.SessionState, received State) -> (next state, bfd.LocalDiag)
    (S.DOWN, S.ADMIN_DOWN): (S.DOWN, 0), (S.DOWN, S.DOWN): (S.INIT, 0), (S.DOWN, S.INIT): (S.UP, 0),
    (S.DOWN, S.UP): (S.DOWN, 0),
    (S.INIT, S.ADMIN_DOWN): (S.DOWN, 3), (S.INIT, S.DOWN): (S.INIT, 0), (S.INIT, S.INIT): (S.UP, 0),
    (S.INIT, S.UP): (S.UP, 0),
    (S.UP, S.ADMIN_DOWN): (S.DOWN, 3), (S.UP, S.DOWN): (S.DOWN, 3), (S.UP, S.INIT): (S.UP, 0),
    (S.UP, S.UP): (S.UP, 0),
    **{(S.ADMIN_DOWN, r): (S.ADMIN_DOWN, 0) for r in S},  # "If bfd.SessionState is AdminDown: discard"
}


@pytest.mark.parametrize(("local", "received"), list(RFC_RECEPTION), ids=lambda s: s.label)
def test_reception_follows_rfc_5880_6_8_6(local: S, received: S) -> None:
    session = session_in(local)
    your = 0 if received in (S.DOWN, S.ADMIN_DOWN) else 0x1234
    actions = rx(session, pkt(received, your=your), 0.01)
    state, diag = RFC_RECEPTION[local, received]
    assert (session.state, session.local_diag) == (state, diag)
    assert len(changes(actions)) == (state is not local)
    assert session.stats.admin_down_discard == (local is S.ADMIN_DOWN)


def test_every_table_entry_is_reachable_and_only_those_change_state() -> None:
    reached = set()
    for (local, received), (new, _diag) in RFC_RECEPTION.items():
        if new is not local:
            session = session_in(local)
            rx(session, pkt(received, your=0 if received in (S.DOWN, S.ADMIN_DOWN) else 1), 0.01)
            assert session.last_transition is not None
            reached.add((local, session.last_transition.reason))
    # plus admin up/down and detection expiry, exercised below
    assert reached <= set(TRANSITIONS)


@pytest.mark.parametrize("state", [S.INIT, S.UP])
def test_detection_time_expiry_goes_down_with_diag_1_exactly_on_time(state: S) -> None:
    session = session_in(state, required_min_rx_us=40 * MS)
    rx(session, pkt(S.UP if state is S.UP else S.DOWN, your=0x1234 if state is S.UP else 0, tx=60 * MS,
                    mult=4), 1.0)
    # detection = remote mult 4 x max(our RequiredMinRx 40 ms, remote Desired Min TX 60 ms)
    assert session.detection_time_us == 240 * MS
    deadline = 1.0 + 0.240
    session.handle(ev.Timeout(), deadline - 1e-6)
    assert session.state is state
    actions = session.handle(ev.Timeout(), deadline + 0.002)
    assert [c.overdue_s for c in changes(actions)] == [pytest.approx(0.002)]
    assert session.state is S.DOWN
    assert session.local_diag == Diag.CONTROL_DETECTION_TIME_EXPIRED
    assert session.remote_discriminator == 0
    assert sent(actions)[0].diag == 1 and sent(actions)[0].your_discriminator == 0
    assert session.stats.detection_time_expired == 1


def test_remote_discriminator_is_forgotten_after_a_silent_detection_time_while_down() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.DOWN, your=0), 0.5)  # neighbor signals Down
    assert session.state is S.DOWN and session.remote_discriminator == PEER_DISCR
    assert session.next_deadline() is not None
    session.handle(ev.Timeout(), 0.5 + 0.150)
    assert session.remote_discriminator == 0
    assert session.stats.remote_discriminator_reset == 1


def test_active_session_sends_at_once_then_every_second_while_down() -> None:
    session = BfdSession(config(), 0x1234, Fixed(0.0))
    first = sent(session.handle(ev.AdminUp(), 0.0))
    assert [(p.state, p.your_discriminator, p.desired_min_tx_us) for p in first] == [(S.DOWN, 0, 1_000_000)]
    assert session.next_deadline() == pytest.approx(1.0)  # slow rate while not Up, no jitter (random 0)


def test_passive_session_is_silent_until_it_hears_the_peer() -> None:
    session = BfdSession(config(passive=True), 0x1234, Fixed(0.0))
    assert sent(session.handle(ev.AdminUp(), 0.0)) == []
    assert session.next_deadline() is None
    reply = sent(rx(session, pkt(S.DOWN, your=0), 1.0))
    assert [(p.state, p.your_discriminator) for p in reply] == [(S.INIT, PEER_DISCR)]


def test_poll_is_answered_at_once_with_final_even_by_a_passive_session() -> None:
    session = BfdSession(config(passive=True), 0x1234, Fixed(0.0))
    session.handle(ev.AdminUp(), 0.0)
    out = sent(rx(session, pkt(S.DOWN, your=0, poll=True), 0.2))
    assert any(p.final and not p.poll for p in out)
    assert session.stats.finals_sent == 1


def test_reaching_up_polls_from_the_slow_rate_to_min_tx_and_the_final_ends_it() -> None:
    session = session_in(S.INIT)
    out = sent(rx(session, pkt(S.UP), 0.1))
    assert session.state is S.UP and session.poll_active
    assert [(p.state, p.poll, p.desired_min_tx_us) for p in out] == [(S.UP, True, 50 * MS)]
    assert session.transmit_interval_us == 50 * MS  # a decrease is used at once
    rx(session, pkt(S.UP, final=True), 0.11)
    assert not session.poll_active
    assert session.stats.polls_completed == 1
    assert not sent(session.handle(ev.Timeout(), session.next_deadline() or 0))[0].poll


def test_a_larger_min_tx_is_only_used_after_the_final() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True), 0.01)
    assert session.transmit_interval_us == 50 * MS
    out = sent(session.handle(ev.Reconfigure(config(desired_min_tx_us=300 * MS)), 0.02))
    assert [(p.poll, p.desired_min_tx_us) for p in out] == [(True, 300 * MS)]
    assert session.transmit_interval_us == 50 * MS  # held (RFC 5880 §6.8.3)
    assert session.next_deadline() == pytest.approx(0.02 + 0.050)
    rx(session, pkt(S.UP, final=True), 0.03)
    assert session.transmit_interval_us == 300 * MS


def test_a_smaller_min_rx_is_only_used_for_detection_after_the_final() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True, tx=10 * MS), 0.01)
    assert session.detection_time_us == 150 * MS
    session.handle(ev.Reconfigure(config(required_min_rx_us=10 * MS)), 0.02)
    assert session.required_min_rx_us == 10 * MS
    assert session.detection_time_us == 150 * MS  # held
    rx(session, pkt(S.UP, final=True, tx=10 * MS), 0.03)
    assert session.detection_time_us == 30 * MS


def test_a_change_during_a_poll_waits_for_a_second_poll() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True), 0.01)
    session.handle(ev.Reconfigure(config(desired_min_tx_us=100 * MS)), 0.02)
    session.handle(ev.Reconfigure(config(desired_min_tx_us=200 * MS)), 0.03)
    rx(session, pkt(S.UP, final=True), 0.04)
    assert session.poll_active and session.transmit_interval_us == 50 * MS
    rx(session, pkt(S.UP, final=True), 0.05)
    assert not session.poll_active and session.transmit_interval_us == 200 * MS
    assert (session.stats.polls_started, session.stats.polls_completed) == (3, 3)


def test_a_final_without_a_poll_is_counted_and_harmless() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True), 0.01)
    rx(session, pkt(S.UP, final=True), 0.02)
    assert session.stats.final_without_poll == 1 and session.state is S.UP


def test_transmit_interval_is_the_larger_of_ours_and_the_peers_min_rx() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True, rx=200 * MS), 0.01)
    assert session.transmit_interval_us == 200 * MS


def test_a_smaller_remote_min_rx_is_honoured_at_once() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True, rx=500 * MS, tx=1000 * MS), 0.0)  # detection 3 s: not next
    session.handle(ev.Timeout(), session.next_deadline() or 0)
    last_tx = session.last_tx
    assert last_tx is not None
    assert session.next_deadline() == pytest.approx(last_tx + 0.5)
    rx(session, pkt(S.UP, rx=50 * MS, tx=1000 * MS), last_tx + 0.01)
    assert session.next_deadline() == pytest.approx(last_tx + 0.05)


@pytest.mark.parametrize(("mult", "random", "fraction"), [
    (3, 0.0, 1.0), (3, 0.999_999, 0.75), (1, 0.0, 0.90), (1, 0.999_999, 0.75),
])
def test_jitter_bounds(mult: int, random: float, fraction: float) -> None:
    session = session_in(S.UP, random=random, detect_mult=mult)
    rx(session, pkt(S.UP, final=True), 0.0)
    session.handle(ev.Timeout(), session.next_deadline() or 0)
    start = session.last_tx or 0
    assert (session.next_deadline() or 0) - start == pytest.approx(0.05 * fraction, abs=1e-6)


def test_no_periodic_packets_while_the_peer_asks_for_none_or_is_in_demand_mode() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True, rx=0), 0.01)
    assert session.next_deadline() == pytest.approx(0.01 + 0.150)  # only the detection timer
    rx(session, pkt(S.UP, demand=True), 0.02)
    assert session.stats.remote_demand == 1
    assert session.next_deadline() == pytest.approx(0.02 + 0.150)


def test_gtsm_drops_anything_but_ttl_255_and_max_hops_relaxes_it() -> None:
    session = session_in(S.DOWN)
    rx(session, pkt(S.DOWN, your=0), 0.1, ttl=254)
    rx(session, pkt(S.DOWN, your=0), 0.1, ttl=None)  # type: ignore[arg-type]
    assert session.state is S.DOWN and session.stats.ttl_err == 2
    relaxed = session_in(S.DOWN, ttl=64, max_hops=0)
    rx(relaxed, pkt(S.DOWN, your=0), 0.1, ttl=64)
    assert relaxed.state is S.INIT
    unchecked = session_in(S.DOWN, max_hops=255)
    rx(unchecked, pkt(S.DOWN, your=0), 0.1, ttl=1)
    assert unchecked.state is S.INIT


def test_an_authentication_section_is_dropped_and_counted() -> None:
    session = session_in(S.DOWN)
    rx(session, pkt(S.DOWN, your=0, auth=Authentication(AuthType.SIMPLE_PASSWORD, 1, b"pw")), 0.1)  # type: ignore[arg-type]
    assert session.state is S.DOWN and session.stats.auth_not_in_use == 1


def test_admin_down_sends_admin_down_for_one_detection_time_then_nothing() -> None:
    session = session_in(S.UP)
    rx(session, pkt(S.UP, final=True), 0.99)
    out = sent(session.handle(ev.AdminDown(), 1.0))
    assert [(p.state, p.diag) for p in out] == [(S.ADMIN_DOWN, Diag.ADMINISTRATIVELY_DOWN)]
    assert notes(session.handle(ev.Timeout(), 1.0)) == []
    times = []
    while (deadline := session.next_deadline()) is not None and deadline < 10:
        if sent(session.handle(ev.Timeout(), deadline)):
            times.append(deadline)
    # we send at the slow rate once not Up: one detection time of the peer = 3 x 1 s
    assert times and max(times) < 1.0 + 3.0
    assert session.next_deadline() is None
    rx(session, pkt(S.UP), 5.0)
    assert session.state is S.ADMIN_DOWN and session.stats.admin_down_discard == 1
    assert sent(session.handle(ev.AdminUp(), 6.0))[0].state is S.DOWN


def test_clients_hear_up_and_real_failures_but_not_the_peers_admin_down() -> None:
    session = session_in(S.INIT)
    assert [n.up for n in notes(rx(session, pkt(S.UP), 0.1))] == [True]
    assert notes(rx(session, pkt(S.ADMIN_DOWN, your=0), 0.2)) == []
    assert session.state is S.DOWN and session.client_up
    rx(session, pkt(S.DOWN, your=0), 0.3)  # the peer comes back: Init, clients still up
    assert session.state is S.INIT and session.client_up
    assert [n.up for n in notes(session.handle(ev.Timeout(), 0.3 + 0.150))] == [False]


def test_unexpected_events_are_counted_and_change_nothing() -> None:
    session = session_in(S.UP)
    session.handle(ev.AdminUp(), 0.1)
    fresh = session_in(S.ADMIN_DOWN)
    fresh.handle(ev.AdminDown(), 0.1)
    other = config(peer=ip_address("198.51.100.99"))
    session.handle(ev.Reconfigure(other), 0.2)
    assert session.stats.unexpected_events == 2 and fresh.stats.unexpected_events == 1
    assert session.state is S.UP and session.config.peer == PEER


def test_snapshot_names_everything() -> None:
    session = session_in(S.UP)
    snap = session.snapshot(1.0)
    assert snap["state"] == "Up" and snap["remote_discriminator"] == PEER_DISCR
    assert snap["detection_time_us"] == 150 * MS
    assert snap["last_transition"]["reason"] == "remote_init"
    assert set(snap["counters"]) >= {"packets_sent", "ttl_err", "auth_not_in_use"}


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="same family"):
        config(local=ip_address("2001:db8::1"))
    with pytest.raises(ValueError, match="below 1 s"):
        config(idle_tx_us=999_999)
    with pytest.raises(ValueError, match="detect_mult"):
        config(detect_mult=0)


def test_docs_table_matches_the_code() -> None:
    repo = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
    docs = repo / "docs" / "bfd.md"
    assert transition_table_markdown() in docs.read_text(encoding="utf-8")
