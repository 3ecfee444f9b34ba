"""The status document's drop totals: every reason summed over the places that count it."""

from __future__ import annotations

from pykeepalived.daemon.status import drop_totals


def test_the_totals_are_the_sum_over_instances_stopped_instances_and_sockets() -> None:
    instances = [{"counters": {"ip_ttl_err": 2, "addr_list_err": 5, "drop_not_a_peer": 1, "advert_rcvd": 9}},
                 {"counters": {"ip_ttl_err": 1, "drop_in_fault": 3, "transition_backup_to_master": 1}}]
    stopped = [{"counters": {"version_err": 4}}]
    sockets = {"eth0/v4/198.51.100.11": {"received": 30, "drops": {"checksum_err": 6, "rxq_overflow": 7}},
               "addresses": {"added": 1}}
    assert drop_totals(instances, sockets, stopped) == {
        "checksum_err": 6, "in_fault": 3, "ip_ttl_err": 3, "not_a_peer": 1, "rxq_overflow": 7,
        "version_err": 4}  # addr_list_err is counted, but its advert was processed: no drop
    assert drop_totals([], None) == {}
