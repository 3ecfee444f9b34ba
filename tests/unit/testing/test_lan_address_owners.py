"""Two address owners on the simulated LAN: the higher address wins, the other backs off, no flapping."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.testing.lan import LinkProfile, SimulatedLan, lab_config


def owners_lan(low, high, version, seed, jitter):
    lan = SimulatedLan(seed=seed)
    lan.set_default_link(LinkProfile(delay_s=0.001, jitter_s=jitter))
    for host, index in (("low", low), ("high", high)):
        lan.add_router(host, lab_config(index, 255, version=version, adver_int_cs=100))
    return lan


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 100),
    st.integers(101, 250),
    st.sampled_from([2, 3]),
    st.integers(0, 20),
    st.floats(0, 0.3),
    st.floats(0, 5),
)
def test_two_owners_settle_on_the_higher_address_and_never_flap(low, high, version, seed, jitter, late):
    lan = owners_lan(low, high, version, seed, jitter)
    lan.start("high")
    lan.run_for(late)
    lan.start("low")
    lan.run_for(5)
    assert lan.masters() == [("high", "VI_1")]
    assert all(holders == {"high"} for holders in lan.vip_holders().values())
    settled = len(lan.state_changes())
    lan.run_for(500)
    assert len(lan.state_changes()) == settled
    assert lan.router("low").stats.owner_conflict > 400


def test_the_yielded_owner_covers_a_crash_and_gives_back():
    lan = owners_lan(1, 2, 3, 0, 0.0)
    lan.start()
    lan.run_for(5)
    assert lan.masters() == [("high", "VI_1")]
    lan.crash("high")
    lan.run_for(5)
    assert lan.masters() == [("low", "VI_1")]
    lan.restart("high")
    lan.run_for(5)
    assert lan.masters() == [("high", "VI_1")]
