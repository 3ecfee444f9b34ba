"""The status document: the drop totals (every reason summed over the places that count it), and the
parts document /metrics asks for every second."""

from __future__ import annotations

from pykeepalived.daemon.status import DaemonInfo, StatusBuilder, drop_totals


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


def test_the_parts_document_is_the_document_without_instances_and_follows_a_reload() -> None:
    builder = StatusBuilder()
    info = DaemonInfo("/etc/keepalived/keepalived.conf", 1_700_000_000.5, config_hash="a" * 64)
    parts = {"sockets": {"eth0/v4": {"drops": {"bad_ttl": 2}}}, "executor": {"adverts_sent": 7}}
    first = builder.parts_document(info, parts)
    assert first == builder.document(info, (), parts)
    assert first["drops"] == {"bad_ttl": 2}
    info.reloaded(ok=True, config_hash="b" * 64)  # the kept first parts follow the reload
    second = builder.parts_document(info, parts)
    assert second == builder.document(info, (), parts)
    assert second["reloads"] == 1 and second["config_hash"] == "b" * 64 and second != first
    info.reloaded(ok=False, error="bad")
    assert builder.parts_document(info, parts) == builder.document(info, (), parts)
