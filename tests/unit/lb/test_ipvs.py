"""lb.ipvs / lb.ipvs_wire without kernel IPVS: the "no IPVS" error, and the wire format.

The struct encoder is checked two ways: pyroute2's own IPVS message decoder (an independent oracle)
must read back the fields we meant, and our dump parser must read our encoding back to the same
objects.  The VM tests then check both against the real kernel.
"""

from __future__ import annotations

import asyncio
import errno
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyroute2.netlink.generic import ipvs as genl_ipvs

from pykeepalived.errors import DriverError
from pykeepalived.lb import ipvs, ipvs_wire
from pykeepalived.lb.diff import AddDest, AddService, DelDest, DelService, EditDest, EditService
from pykeepalived.lb.model import (
    AF_INET,
    AF_INET6,
    SVC_F_SCHED1,
    SVC_F_SCHED2,
    TUN_F_CSUM,
    Destination,
    DestKey,
    Forwarding,
    Protocol,
    ServiceKey,
    TunType,
    VirtualService,
)


def _has_ipvs() -> bool:
    try:
        asyncio.run(_open_close())
    except DriverError:
        return False
    return True


async def _open_close() -> None:
    table = await ipvs.NetlinkIpvsTable.open()
    await table.close()


@pytest.mark.skipif(_has_ipvs(), reason="this kernel has IPVS")
async def test_open_on_a_kernel_without_ipvs_says_so():
    with pytest.raises(DriverError) as info:
        await ipvs.NetlinkIpvsTable.open()
    assert info.value.errno == errno.ENOENT
    assert "this kernel has no IPVS" in str(info.value) and "modprobe ip_vs" in str(info.value)


V4S = [IPv4Address("203.0.113.80"), IPv4Address("203.0.113.81")]
V6S = [IPv6Address("2001:db8::80")]


@st.composite
def services(draw):
    if draw(st.booleans()):
        key = ServiceKey.mark(draw(st.integers(1, 2**32 - 1)), draw(st.sampled_from([AF_INET, AF_INET6])))
    else:
        addr = draw(st.sampled_from(V4S + V6S))
        key = ServiceKey.inet(addr, draw(st.integers(0, 65535)), draw(st.sampled_from(list(Protocol))))
    max_len = 32 if key.af == AF_INET else 128
    return VirtualService(key, scheduler=draw(st.sampled_from(["rr", "wlc", "mh"])),
                          sched_flags=draw(st.sampled_from([0, SVC_F_SCHED1, SVC_F_SCHED1 | SVC_F_SCHED2])),
                          ops=draw(st.booleans()), persistence_timeout_s=draw(st.integers(0, 86400)),
                          persistence_prefix_len=draw(st.integers(0, max_len)),
                          pe_name=draw(st.sampled_from(["", "sip"])))


@st.composite
def dests(draw):
    addr = draw(st.sampled_from([IPv4Address("198.51.100.80"), IPv6Address("2001:db8:1::80")]))
    fwd = draw(st.sampled_from([Forwarding.NAT, Forwarding.DR, Forwarding.TUN]))
    tun = {}
    if fwd == Forwarding.TUN:
        ttype = draw(st.sampled_from(list(TunType)))
        tun = {"tun_type": ttype, "tun_flags": draw(st.sampled_from([0, TUN_F_CSUM])),
               "tun_port": draw(st.integers(1, 65535)) if ttype == TunType.GUE else 0}
    return Destination(DestKey(addr, draw(st.integers(0, 65535))), fwd,
                       weight=draw(st.integers(0, 2**31 - 1)), u_thresh=draw(st.integers(0, 2**32 - 1)),
                       l_thresh=draw(st.integers(0, 2**32 - 1)), **tun)


def _oracle(data: bytes):
    """pyroute2's decoding of one message."""
    msg = genl_ipvs.ipvsmsg(data)
    msg.decode()
    return msg


def _ours(data: bytes, attr: int) -> dict[int, bytes]:
    ((_kind, _seq, payload),) = ipvs_wire.parse_messages(data)
    return ipvs_wire.parse_attrs(ipvs_wire.parse_attrs(payload[4:])[attr])


@given(services())
def test_service_encoding_matches_pyroute2_and_round_trips(svc):
    for op, cmd in ((AddService(svc), 1), (EditService(svc), 2)):
        data = ipvs_wire.encode_op(op, 0x42, 7)
        msg = _oracle(data)
        assert (msg["header"]["type"], msg["header"]["sequence_number"], msg["cmd"]) == (0x42, 7, cmd)
        a = msg.get("IPVS_CMD_ATTR_SERVICE")
        assert a.get("IPVS_SVC_ATTR_AF") == svc.key.af
        assert a.get("IPVS_SVC_ATTR_SCHED_NAME") == svc.scheduler
        assert a.get("IPVS_SVC_ATTR_FLAGS")["flags"] == svc.kernel_flags
        assert a.get("IPVS_SVC_ATTR_TIMEOUT") == svc.persistence_timeout_s
        assert a.get("IPVS_SVC_ATTR_PE_NAME") == (svc.pe_name or None)  # persistence_engine
        if svc.key.fwmark:
            assert a.get("IPVS_SVC_ATTR_FWMARK") == svc.key.fwmark
        else:
            assert a.get("IPVS_SVC_ATTR_PORT") == svc.key.port
            assert a.get("IPVS_SVC_ATTR_PROTOCOL") == svc.key.protocol
            assert a.get("IPVS_SVC_ATTR_ADDR") == str(svc.key.addr)
        assert ipvs_wire.service_from_attrs(_ours(data, ipvs_wire.ATTR_SERVICE)) == svc
    assert _oracle(ipvs_wire.encode_op(DelService(svc.key), 1, 1))["cmd"] == 3


@given(services(), dests())
def test_dest_encoding_matches_pyroute2_and_round_trips(svc, dest):
    data = ipvs_wire.encode_op(AddDest(svc.key, dest), 0x42, 8)
    b = _oracle(data).get("IPVS_CMD_ATTR_DEST")
    assert b.get("IPVS_DEST_ATTR_ADDR") == str(dest.key.addr)
    assert b.get("IPVS_DEST_ATTR_ADDR_FAMILY") == (2 if dest.key.addr.version == 4 else 10)
    assert b.get("IPVS_DEST_ATTR_PORT") == dest.key.port
    assert b.get("IPVS_DEST_ATTR_FWD_METHOD") == dest.forwarding
    counts = [b.get(f"IPVS_DEST_ATTR_{name}") for name in ("WEIGHT", "U_THRESH", "L_THRESH")]
    assert counts == [dest.weight, dest.u_thresh, dest.l_thresh]
    assert ipvs_wire.dest_from_attrs(_ours(data, ipvs_wire.ATTR_DEST), svc.key.af) == dest
    assert _oracle(ipvs_wire.encode_op(EditDest(svc.key, dest), 1, 1))["cmd"] == 6
    deleted = _oracle(ipvs_wire.encode_op(DelDest(svc.key, dest.key), 1, 1))
    assert deleted["cmd"] == 7
    assert deleted.get("IPVS_CMD_ATTR_DEST").get("IPVS_DEST_ATTR_PORT") == dest.key.port


@pytest.mark.parametrize(("af", "prefix", "wire"), [
    (AF_INET, 32, "ffffffff"), (AF_INET, 24, "ffffff00"), (AF_INET, 0, "00000000"),
    (AF_INET6, 128, "80000000"), (AF_INET6, 64, "40000000"),  # host-order u32 on little-endian x86
])
def test_netmask_wire_format(af, prefix, wire):
    assert ipvs_wire.netmask_bytes(af, prefix).hex() == wire


def test_tunnel_port_is_big_endian_on_the_wire():
    dest = Destination(DestKey(IPv4Address("198.51.100.70"), 80), Forwarding.TUN, tun_type=TunType.GUE,
                       tun_port=0x1234)
    raw = _ours(ipvs_wire.encode_op(AddDest(ServiceKey.mark(1), dest), 1, 1), ipvs_wire.ATTR_DEST)
    assert raw[ipvs_wire.DEST_TUN_PORT] == b"\x12\x34"


def test_ack_parser_reads_acks_and_errors_and_skips_other_messages():
    hdr = ipvs_wire._HDR
    ack = hdr.pack(36, ipvs_wire.NLMSG_ERROR, 0, 5, 0) + (0).to_bytes(4, "little", signed=True) + bytes(16)
    err = hdr.pack(36, ipvs_wire.NLMSG_ERROR, 0, 6, 0) + (-17).to_bytes(4, "little", signed=True) + bytes(16)
    done = hdr.pack(20, ipvs_wire.NLMSG_DONE, 0, 9, 0) + bytes(4)
    assert ipvs_wire.parse_acks(ack + done + err) == [(5, 0), (6, errno.EEXIST)]
    assert ipvs_wire.parse_acks(b"\x01\x02") == []
    assert ipvs_wire.parse_acks(hdr.pack(3, 2, 0, 1, 0)) == []  # bogus length: stop, no loop
    assert ipvs_wire.parse_attrs(b"\x02\x00\x01\x00") == {}  # bogus NLA length


def test_malformed_dump_data_is_a_value_error():
    with pytest.raises(ValueError):
        ipvs_wire.service_from_attrs({ipvs_wire.SVC_AF: b"\x07\x00"})
    with pytest.raises(ValueError):
        bad_fwd = {ipvs_wire.DEST_ADDR: bytes(16), ipvs_wire.DEST_FWD_METHOD: b"\x07\0\0\0"}
        ipvs_wire.dest_from_attrs(bad_fwd, AF_INET)


async def test_open_in_a_missing_namespace_is_a_driver_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "no-such-netns"
    with pytest.raises(DriverError, match="network namespace") as info:
        await ipvs.NetlinkIpvsTable.open(str(missing))
    assert info.value.errno == errno.ENOENT
    assert not missing.exists()
