"""OMA-ETS-LightweightM2M-V1_0 multi-server cases (§6.2): int-950 (registration to two servers) and
int-951 (per-server attributes), against two Leshan LwM2M servers.

The bootstrap server provisions two accounts (configuration C.14): Server instance 0 with short
server id 1 on the suite's LwM2M server, instance 1 with short server id 2 on a second
leshan-server-demo (fixture second_leshan_server), each with its own DTLS-PSK, and Access Control
instances that give both servers R/W/E on the Device instance and each full rights on its own
Server instance (with two servers, TS 1.0.2 §7.3 grants nothing without an ACL instance). The client
opens one DTLS session per server.
Spec: OMA-TS-LightweightM2M-V1_0_2 §5.3.1 (registration per server), §5.4.4 and §5.1.1
(Write-Attributes are kept per server), §7.3 / §E.3 (access control).
"""

from __future__ import annotations

import pytest

from conftest import REGISTER_TIMEOUT_S
from leshan_api import ServerAccount, acl_entry, assert_code, link_attributes, random_psk_hex

READ, WRITE, EXECUTE = 1, 2, 4


@pytest.fixture(scope="module")
def two_servers(leshan, second_leshan_server, module_carrier_device, module_provision):
    """(device, first server, second server, event streams on the second server), registered with both."""
    device = module_carrier_device()
    first, second = leshan.server, second_leshan_server
    second_events = second.event_stream(device.endpoint)
    module_provision.accounts(
        device.endpoint,
        device.bs_psk_hex,
        [
            (first, ServerAccount(uri=leshan.dm_coaps_uri, psk_hex=random_psk_hex(), short_id=1, lifetime=300)),
            (second, ServerAccount(uri=second.coaps_uri, psk_hex=random_psk_hex(), short_id=2, lifetime=300)),
        ],
        acls=[
            acl_entry(3, 0, {1: READ | WRITE | EXECUTE, 2: READ | WRITE | EXECUTE}, owner=1),
            acl_entry(1, 0, {1: READ | WRITE | EXECUTE}, owner=1),
            acl_entry(1, 1, {2: READ | WRITE | EXECUTE}, owner=2),
        ],
    )
    device.boot()
    device.process.wait_for_event("REGISTERED", REGISTER_TIMEOUT_S)
    device.dm_events.wait_for("REGISTRATION", 10)
    second_events.wait_for("REGISTRATION", 10)
    device.follow_coap(first)
    yield device, first, second, second_events
    second_events.close()


def test_int_950_multi_server_registration(two_servers):
    """int-950: the client registers with server #1 and server #2 (2.01 each), each registration
    carrying the information of its account (endpoint, lifetime, version, objects)."""
    device, first, second, second_events = two_servers
    for name, server in (("server #1", first), ("server #2", second)):
        registration = server.registration(device.endpoint)
        assert registration is not None, f"{name} has no registration"
        assert registration["endpoint"] == device.endpoint
        assert registration["lifetime"] == 300
        assert registration["lwM2mVersion"] == "1.0"
        assert registration["secure"] is True
        urls = [link["url"] for link in registration["objectLinks"]]
        assert "/3/0" in urls, (name, urls)
        assert not any(u.startswith("/0") for u in urls), (name, urls)
    # Both over their own DTLS session: two registrations from two different client ports.
    assert first.registration(device.endpoint)["address"] != second.registration(device.endpoint)["address"]
    events = device.process.events()
    assert events.count("REGISTERED") == 1, events
    assert "ERROR" not in events and "DEFERRED" not in events, events


def test_int_951_multi_server_attributes(two_servers):
    """int-951: server #1 writes pmin=2&pmax=10 on /3/0, server #2 pmin=15&pmax=50 (2.04 each);
    each server's Discover of /3/0 shows its own attributes only."""
    device, first, second, _ = two_servers
    endpoint = device.endpoint
    try:
        assert_code(first.write_attributes(endpoint, "/3/0", pmin=2, pmax=10), "2.04", "server #1 Write-Attributes /3/0")
        assert_code(second.write_attributes(endpoint, "/3/0", pmin=15, pmax=50), "2.04", "server #2 Write-Attributes /3/0")
        seen_by_first = link_attributes(assert_code(first.discover(endpoint, "/3/0"), "2.05", "server #1 Discover /3/0"))
        seen_by_second = link_attributes(assert_code(second.discover(endpoint, "/3/0"), "2.05", "server #2 Discover /3/0"))
        assert seen_by_first["/3/0"] == {"pmin": "2", "pmax": "10"}, seen_by_first["/3/0"]
        assert seen_by_second["/3/0"] == {"pmin": "15", "pmax": "50"}, seen_by_second["/3/0"]
    finally:
        first.write_attributes(endpoint, "/3/0", pmin=None, pmax=None)
        second.write_attributes(endpoint, "/3/0", pmin=None, pmax=None)
