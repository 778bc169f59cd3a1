"""Our rtnetlink decoding against pyroute2's (the oracle) on a real kernel's tables, and against
hostile bytes."""

from __future__ import annotations

import json
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lannet import lan, sh

from support.netns import can_use_netns
from yamori.network.lan import rtnl

COMPARE = """
import json
from pyroute2 import IPRoute
from yamori.network.lan.netlink import read_snapshot

snap = read_snapshot()
ours = {"neigh": sorted([n.interface, n.address, n.mac] for n in snap.neighbours),
        "addr": sorted([a.interface, a.address, a.prefixlen, a.dad_failed] for a in snap.addresses),
        "gw": sorted([g.interface, g.address] for g in snap.gateways)}
with IPRoute() as ipr:
    names = {lk["index"]: lk.get_attr("IFLA_IFNAME") for lk in ipr.get_links()}
    neigh = sorted([names[n["ifindex"]], n.get_attr("NDA_DST"), n.get_attr("NDA_LLADDR")]
                   for n in ipr.get_neighbours() if n["state"] not in (0x01, 0x20)
                   and n.get_attr("NDA_LLADDR") and not int(n.get_attr("NDA_LLADDR")[:2], 16) & 1
                   and n.get_attr("NDA_LLADDR") != "00:00:00:00:00:00")
    addr = sorted([names[a["index"]], a.get_attr("IFA_LOCAL") or a.get_attr("IFA_ADDRESS"), a["prefixlen"],
                   bool((a.get_attr("IFA_FLAGS") or a["flags"]) & 0x08)] for a in ipr.get_addr())
    gw = sorted([names[r.get_attr("RTA_OIF")], r.get_attr("RTA_GATEWAY")] for fam in (2, 10)
                for r in ipr.get_routes(family=fam) if r["dst_len"] == 0 and r.get_attr("RTA_GATEWAY")
                and r.get_attr("RTA_TABLE") == 254)
print(json.dumps({"ours": ours, "oracle": {"neigh": neigh, "addr": addr, "gw": gw}}))
"""


@pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))
def test_snapshot_matches_pyroute2_on_a_real_kernel() -> None:
    with lan() as net:
        net.device("gw", "00:00:5e:00:53:01", "192.0.2.1/24", "2001:db8::1/64")
        net.device("a", "00:00:5e:00:53:50", "192.0.2.50/24", "2001:db8::50/64")
        time.sleep(2.2)
        h = net.device("h", "00:00:5e:00:53:10", "192.0.2.10/24", "2001:db8::50/64", gateway="192.0.2.1")
        sh("ip", "-6", "route", "add", "default", "via", "2001:db8::1", "dev", "eth0", ns=h, check=False)
        sh("ping", "-c1", "-W2", "192.0.2.50", ns=h)
        sh("ip", "neigh", "add", "192.0.2.77", "lladdr", "00:00:5e:00:53:77", "dev", "eth0", ns=h)
        time.sleep(2.2)      # DAD of 2001:db8::50 fails on h
        got = json.loads(sh(sys.executable, "-c", COMPARE, ns=h).stdout)
    assert got["ours"] == got["oracle"]
    assert ["eth0", "192.0.2.77", "00:00:5e:00:53:77"] in got["ours"]["neigh"]
    assert ["eth0", "2001:db8::50", 64, True] in got["ours"]["addr"]
    assert ["eth0", "192.0.2.1"] in got["ours"]["gw"]


def test_dump_request_layout() -> None:
    req = rtnl.dump_request(rtnl.RTM_GETNEIGH, 7)
    assert rtnl.NLMSG.unpack_from(req) == (len(req), rtnl.RTM_GETNEIGH, 0x301, 7, 0) and len(req) == 28


@given(st.binary(max_size=300))
def test_any_bytes_decode_or_are_refused(data: bytes) -> None:
    try:
        for msg in rtnl.parse(data):
            assert msg.kind in ("link", "address", "route", "neighbour")
    except rtnl.NetlinkError:
        pass
