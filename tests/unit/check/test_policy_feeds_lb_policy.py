"""Per-virtual-server keywords end to end on a fake clock: checker results (check.policy) become
RealServerChanged events, which feed the pure IPVS model (lb.model.LbPolicy) as the daemon does:
quorum, hysteresis, quorum_up/quorum_down, sorry_server, inhibit_on_failure, alpha and misc_dynamic
weights.  (The IPVS side itself is lb's; this proves the events carry what it needs.)"""

from __future__ import annotations

from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.policy import RealServerPolicy
from pykeepalived.check.results import CheckResult, RealServerChanged
from pykeepalived.config.model import Config
from pykeepalived.lb.from_config import lb_config
from pykeepalived.lb.model import LbPolicy, QuorumChanged, RealServerHealth, RunScript
from pykeepalived.testing.fake_clock import FakeClock

OK = CheckResult.success(0.001)
FAIL = CheckResult.failure("connection refused")


class Director:
    """Checker policies for every real server + LbPolicy, wired the way the daemon wires them."""

    def __init__(self, config: Config) -> None:
        self.clock = FakeClock(0.0)
        self.checks = checks_from_config(config)
        self.lb = lb_config(config)
        self.policies = [RealServerPolicy(s.rs, [c.timing for c in s.checkers]) for s in self.checks]
        self.health: dict = {}
        self.lb_policy = LbPolicy(self.lb.specs)
        self.actions: list = []
        for policy in self.policies:
            policy.start(self.clock.now(), [0.0] * len(policy.checkers))
            if not policy.up:  # alpha, as the runner reports it at start
                self.apply(RealServerChanged(policy.rs.vs_name, policy.rs, False, None, "alpha"))
        self.table, actions = self.lb_policy.update(self.health)
        self.actions += actions

    def apply(self, event: RealServerChanged) -> None:
        spec = self.lb.specs[event.rs.vs_index]
        dest = spec.real_servers[event.rs.rs_index].dest
        self.health[(spec.service.key, dest.key)] = RealServerHealth(event.up, event.weight)

    def result(self, rs_index: int, result: CheckResult) -> None:
        """Every attempt of real server ``rs_index``'s first checker returns ``result`` until it changes."""
        policy = self.policies[rs_index]
        for _ in range(10):
            due = policy.checkers[0].next_deadline()
            assert due is not None
            self.clock.set(max(due, self.clock.now()))
            event = policy.record(0, result, self.clock.now())
            if event is not None:
                self.apply(event)
                self.table, actions = self.lb_policy.update(self.health)
                self.actions += actions
                return
            if policy.checkers[0].up == result.ok and result.weight is None:  # nothing will change
                return
        raise AssertionError("no transition after 10 attempts")

    def dests(self) -> dict[str, int]:
        (entry,) = self.table.services.values()
        return {str(k): d.weight for k, d in entry.dests.items()}


def config(**vs) -> Config:
    real_servers = vs.pop("real_servers", [
        {"ip": f"198.51.100.{i}", "TCP_CHECK": {"retry": 1}} for i in (1, 2, 3, 4)])
    return Config.model_validate({"virtual_servers": [{
        "ip": "203.0.113.10", "port": 80, "delay_loop": 5, "warmup": 0, "real_servers": real_servers, **vs}]})


def test_quorum_hysteresis_scripts_and_sorry_server():
    d = Director(config(quorum=3, hysteresis=1, quorum_up="/bin/up", quorum_down="/bin/down",
                        sorry_server={"ip": "198.51.100.99", "port": 80}))
    assert set(d.dests()) == {f"198.51.100.{i}:80" for i in (1, 2, 3, 4)}
    d.result(0, FAIL)
    d.result(1, FAIL)  # live weight 2 = quorum - hysteresis: still up
    assert d.actions == [] and set(d.dests()) == {"198.51.100.3:80", "198.51.100.4:80"}
    d.result(2, FAIL)  # live weight 1 < 2: quorum lost, the sorry server takes over
    assert [type(a) for a in d.actions] == [QuorumChanged, RunScript]
    assert not d.actions[0].up and d.actions[1].script == "/bin/down"
    assert d.dests() == {"198.51.100.99:80": 1}
    d.result(0, OK)
    d.result(1, OK)  # live weight 3 < quorum + hysteresis: still lost (the flap dampener)
    assert len(d.actions) == 2 and d.dests() == {"198.51.100.99:80": 1}
    d.result(2, OK)  # 4 >= 4: regained
    assert d.actions[2].up and d.actions[3].script == "/bin/up"
    assert set(d.dests()) == {f"198.51.100.{i}:80" for i in (1, 2, 3, 4)}


def test_inhibit_on_failure_keeps_a_down_server_with_weight_zero():
    d = Director(config(real_servers=[
        {"ip": "198.51.100.1", "weight": 3, "inhibit_on_failure": True, "TCP_CHECK": {}},
        {"ip": "198.51.100.2", "TCP_CHECK": {}}]))
    d.result(0, FAIL)
    d.result(1, FAIL)
    assert d.dests() == {"198.51.100.1:80": 0}  # inhibited, not removed; the other one is removed
    d.result(0, OK)
    assert d.dests() == {"198.51.100.1:80": 3}


def test_alpha_starts_down_until_the_first_success():
    d = Director(config(alpha=True, real_servers=[{"ip": "198.51.100.1", "TCP_CHECK": {}}]))
    assert d.dests() == {}
    d.result(0, OK)
    assert d.dests() == {"198.51.100.1:80": 1}


def test_misc_dynamic_weight_reaches_the_table():
    d = Director(config(real_servers=[{"ip": "198.51.100.1", "weight": 5,
                                       "MISC_CHECK": {"misc_path": "/bin/true", "misc_dynamic": True}}]))
    d.result(0, CheckResult.success(0.0, "exit 9", weight=7))
    assert d.dests() == {"198.51.100.1:80": 7}
    d.result(0, CheckResult.success(0.0, "exit 0"))  # exit 0: back to the configured weight
    assert d.dests() == {"198.51.100.1:80": 5}
