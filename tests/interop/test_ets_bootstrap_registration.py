"""OMA-ETS-LightweightM2M-V1_0 interoperability cases, bootstrap and registration interfaces, against Leshan.

Cases: int-0 (client-initiated bootstrap), int-101 (initial registration), int-401 (DTLS-PSK), which
share one freshly bootstrapped device; int-102 (registration update), int-103 (deregistration),
int-104 (update trigger), int-555 (Disable capability), each on a device of its own because they
change the registration; int-556 (update registration capability) on the shared device.

Pass criteria are the ETS's (OMA-ETS-LightweightM2M-V1_0_1 §6.1.1, §6.1.2, §6.1.5, §6.1.6.2),
checked through what Leshan saw: its REST answers, the bootstrap session log of
InteropBootstrapServer, and the CoAP messages of the LwM2M server's COAPLOG event stream.
Lifetimes are the ETS's 20 s where the case is about the lifetime; otherwise 300 s.
Spec: OMA-TS-LightweightM2M-V1_0_2 §5.2 (bootstrap), §5.3 (registration), §E.2 (Server object).
"""

from __future__ import annotations

import time

import pytest

from conftest import start_registered
from leshan_api import (
    assert_code,
    coap_log,
    coap_options,
    coap_payload_bytes,
    describe_exchange,
    node_values,
    response_to,
)
from managed_process import assert_subsequence
from udp_fault_proxy import UP

FW_VERSION = "mfw_nrf9160_1.2.3-ets"


@pytest.fixture(scope="module")
def bootstrapped(module_carrier_device, module_provision):
    """A device that bootstrapped from scratch (Leshan told to start with a Bootstrap-Discover,
    `autoIdForSecurityObject`) and registered; read-only tests share it."""
    return start_registered(
        module_carrier_device,
        module_provision,
        lifetime=300,
        extra_env={"LWM2M_HOST_FW_VERSION": FW_VERSION},
        auto_security_id=True,
    )


def update_requests(device, registration_id: str, after: int = 0) -> list[dict]:
    """The client's Updates (POST /rd/<id>) logged from event index `after` on."""
    return [
        e
        for e in coap_log(device.coap_events, after)
        if e.get("incoming") and e.get("code") == "POST" and coap_options(e).get("Uri-Path") == ["rd", registration_id]
    ]


def wait_for_update(device, registration_id: str, after: int, timeout: float) -> dict:
    """The next Update (POST /rd/<id>) the client sends after event index `after`."""
    deadline = time.monotonic() + timeout
    while True:
        found = update_requests(device, registration_id, after)
        if found:
            return found[0]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"no Update within {timeout:.0f} s; CoAP log:\n{describe_exchange(device.coap_events, after)}"
            )
        device.coap_events.wait_for("UPDATED", remaining, after=after)


# ------------------------------------------------------------------------------------------- int-0


def test_int_0_client_initiated_bootstrap(leshan, bootstrapped):
    """int-0: with no Server instance the client sends Bootstrap-Request (POST /bs?ep=) to the
    server of its bootstrap Security instance; the bootstrap server discovers (Leshan does so first,
    on "/", to pick free Security instance ids), deletes /0 and /1, writes /0/x and /1/0 (config C.1:
    one DM server over DTLS-PSK) and sends Bootstrap-Finish; every request is answered with success.
    """
    device = bootstrapped
    events = leshan.bootstrap.session_events(device.endpoint)
    log = [f"{e['name']}: {e['message']}" for e in events]
    names = [e["name"] for e in events]

    # Step 1: the Bootstrap-Request reached the server over DTLS with the endpoint's PSK identity.
    assert_subsequence(names, ["new session", "authorized"], "bootstrap request")
    assert "unauthorized" not in names, log
    # Steps 2-4: every bootstrap operation succeeded, in Leshan's order.
    successes = [e["message"] for e in events if e["name"] == "receive success response"]
    assert any(m.startswith("CONTENT(205) for BootstrapDiscoverRequest on /") for m in successes), log
    assert any(m.startswith("DELETED(202) for BootstrapDeleteRequest on /0") for m in successes), log
    assert any(m.startswith("DELETED(202) for BootstrapDeleteRequest on /1") for m in successes), log
    security_writes = [m for m in successes if m.startswith("CHANGED(204) for BootstrapWriteRequest on /0/")]
    assert len(security_writes) == 1, log
    assert "CHANGED(204) for BootstrapWriteRequest on /1/0" in successes, log
    assert "CHANGED(204) for BootstrapFinishRequest on null" in successes, log
    assert_subsequence(
        names,
        ["send discover", "receive success response", "send delete", "send write", "send write", "send request", "finished"],
        "bootstrap session",
    )
    for bad in ("receive error response", "request failure", "failed", "no config"):
        assert bad not in names, log
    # The client took the configuration: BOOTSTRAPPED once, and it registered with the written server.
    events_seen = device.process.events()
    assert events_seen.count("BOOTSTRAPPED") == 1, events_seen
    assert leshan.server.registration(device.endpoint) is not None


# ------------------------------------------------------------------------------------------- int-101


def test_int_101_initial_registration(leshan, bootstrapped):
    """int-101: Register (CoAP POST /rd) with endpoint name, lifetime, LwM2M version, binding and the
    link-format list of objects / instances; Leshan answers 2.01 Created with the location."""
    device = bootstrapped
    registration = leshan.server.registration(device.endpoint)
    assert registration is not None, "Leshan has no registration"
    assert registration["endpoint"] == device.endpoint
    assert registration["lifetime"] == 300
    assert registration["lwM2mVersion"] == "1.0"
    assert registration["bindingMode"] == "U"
    urls = [link["url"] for link in registration["objectLinks"]]
    assert "/1/0" in urls and "/3/0" in urls, urls
    assert not any(u == "/0" or u.startswith("/0/") for u in urls), f"Security object announced: {urls}"

    # Leshan's COAPLOG stream follows a client only once it is registered, so the Register itself
    # is seen through the registration Leshan built from it (above) and the client's own log:
    # it got the 2.01 with Location-Path rd/<registration id>.
    stderr = device.process.stderr_tail(400)
    assert f"registered at /rd/{registration['registrationId']}" in stderr, stderr


# ------------------------------------------------------------------------------------------- int-401


def test_int_401_udp_channel_security_psk(leshan, bootstrapped):
    """int-401: the registration ran over the DTLS-PSK session (Security Mode 0) and a TLV Read of
    the Device instance over that session returns its values."""
    device = bootstrapped
    registration = leshan.server.registration(device.endpoint)
    assert registration is not None and registration["secure"] is True, registration
    mark = device.coap_events.mark()
    answer = assert_code(leshan.server.read(device.endpoint, "/3/0", "TLV"), "2.05", "Read /3/0", device.coap_events, mark)
    values = node_values(answer["content"])
    assert values[0] == "Nordic Semiconductor ASA"
    assert values[2] == device.imei
    assert values[3] == FW_VERSION


# ------------------------------------------------------------------------------------------- int-556


def test_int_556_update_registration_capability(leshan, bootstrapped):
    """int-556 (ETS: same scope as int-104): Execute Registration Update Trigger /1/0/8 -> 2.04,
    then an Update without parameters, answered 2.04, same registration."""
    device = bootstrapped
    registration_id = leshan.server.registration(device.endpoint)["registrationId"]
    mark = device.coap_events.mark()
    assert_code(leshan.server.execute(device.endpoint, "/1/0/8"), "2.04", "Execute /1/0/8", device.coap_events, mark)
    update = wait_for_update(device, registration_id, mark, timeout=10)
    assert "Uri-Query" not in coap_options(update), f"Update with parameters: {update}"
    assert response_to(device.coap_events, update)["code"] == "2.04"
    assert leshan.server.registration(device.endpoint)["registrationId"] == registration_id


# ------------------------------------------------------------------------------------------- int-102


def test_int_102_registration_update(leshan, carrier_device, provision):
    """int-102: the server writes Lifetime /1/0/1 = 20 (2.04); the client sends an Update with
    lt=20 (2.04); before the 20 s run out it sends an Update without parameters."""
    device = start_registered(carrier_device, provision, lifetime=300)
    registration_id = leshan.server.registration(device.endpoint)["registrationId"]
    mark = device.coap_events.mark()

    written = leshan.server.write(device.endpoint, "/1/0/1", {"id": 1, "value": 20}, "TEXT")
    assert_code(written, "2.04", "Write /1/0/1 = 20", device.coap_events, mark)
    first = wait_for_update(device, registration_id, mark, timeout=10)
    assert coap_options(first).get("Uri-Query") == ["lt=20"], first
    assert response_to(device.coap_events, first)["code"] == "2.04", describe_exchange(device.coap_events, mark)
    updated = device.coap_events.wait_for("UPDATED", 5, after=mark)
    assert updated.data["update"].get("lifeTimeInSec") == 20, updated.data
    assert leshan.server.registration(device.endpoint)["lifetime"] == 20

    # Step 3: a parameterless Update before the new lifetime ends (the client sends it 4 s early).
    after_first = device.coap_events.mark()
    second = wait_for_update(device, registration_id, after_first, timeout=25)
    waited_s = (second["timestamp"] - first["timestamp"]) / 1000
    assert waited_s < 20, f"second Update {waited_s:.1f} s after the lifetime became 20 s"
    assert "Uri-Query" not in coap_options(second), second
    assert response_to(device.coap_events, second)["code"] == "2.04"
    device.coap_events.assert_alive()
    assert "DEREGISTRATION" not in device.coap_events.names()


# ------------------------------------------------------------------------------------------- int-103


def test_int_103_deregistration(leshan, carrier_device, provision):
    """int-103: Execute Disable /1/0/4 -> 2.04; the client de-registers (DELETE /rd/<id>, 2.02) and
    Leshan no longer has the registration."""
    device = start_registered(carrier_device, provision, lifetime=300)
    registration_id = leshan.server.registration(device.endpoint)["registrationId"]
    mark = device.coap_events.mark()

    assert_code(leshan.server.execute(device.endpoint, "/1/0/4"), "2.04", "Execute /1/0/4", device.coap_events, mark)
    device.coap_events.wait_for("DEREGISTRATION", 10, after=mark)
    deletes = [
        e
        for e in coap_log(device.coap_events, mark)
        if e.get("incoming") and e.get("code") == "DELETE" and coap_options(e).get("Uri-Path") == ["rd", registration_id]
    ]
    assert len(deletes) == 1, describe_exchange(device.coap_events, mark)
    assert response_to(device.coap_events, deletes[0])["code"] == "2.02"
    assert leshan.server.registration(device.endpoint) is None


# ------------------------------------------------------------------------------------------- int-104


def test_int_104_registration_update_trigger(leshan, carrier_device, provision):
    """int-104: registered with lifetime 20 s, the server executes /1/0/8 (2.04); the client sends
    an Update without parameters (2.04) and is still registered after the first 20 s ran out."""
    device = start_registered(carrier_device, provision, lifetime=20)
    registered = device.dm_events.wait_for("REGISTRATION", 5)
    registration_id = registered.data["registrationId"]
    mark = device.coap_events.mark()

    assert_code(leshan.server.execute(device.endpoint, "/1/0/8"), "2.04", "Execute /1/0/8", device.coap_events, mark)
    update = wait_for_update(device, registration_id, mark, timeout=5)
    assert "Uri-Query" not in coap_options(update), f"Update with parameters: {update}"
    assert not coap_payload_bytes(update), f"Update with a payload: {update}"
    assert response_to(device.coap_events, update)["code"] == "2.04"

    # Pass criterion 5: still registered once the initial 20 s lifetime has expired.
    expiry = registered.received_at + 20 + 2
    while time.monotonic() < expiry:
        current = leshan.server.registration(device.endpoint)
        assert current is not None and current["registrationId"] == registration_id, (
            f"registration lost before the lifetime ran out:\n{describe_exchange(device.coap_events)}"
        )
        time.sleep(0.5)
    current = leshan.server.registration(device.endpoint)
    assert current is not None and current["registrationId"] == registration_id
    device.coap_events.assert_alive()
    assert "DEREGISTRATION" not in device.coap_events.names()


# ------------------------------------------------------------------------------------------- int-555


def test_int_555_disable_capability(leshan, carrier_device, provision, fault_proxy):
    """int-555: Execute Disable /1/0/4 (2.04) with Disable Timeout /1/0/5 = 5 s: the client
    de-registers (2.02), stays silent while disabled, and registers again once the 5 s are over.

    The device reaches the server through a transparent fault_proxy: Leshan sees it at the proxy's
    address whichever local port the client binds when it reconnects, so Leshan's CoAP log (which
    follows the address the registration had when the stream opened) covers the whole case, and the
    proxy itself records every datagram the client sent while disabled."""
    disable_timeout_s = 5
    proxy = fault_proxy("dm")
    device = start_registered(carrier_device, provision, lifetime=300, disable_timeout=disable_timeout_s, uri=proxy.uri())
    assert leshan.server.registration(device.endpoint)["address"] == proxy.upstream_address
    answer = assert_code(leshan.server.read(device.endpoint, "/1/0/5", "TEXT"), "2.05", "Read /1/0/5")
    assert answer["content"]["value"] == disable_timeout_s
    mark = device.coap_events.mark()

    assert_code(leshan.server.execute(device.endpoint, "/1/0/4"), "2.04", "Execute /1/0/4", device.coap_events, mark)
    gone = device.coap_events.wait_for("DEREGISTRATION", 10, after=mark)
    back = device.coap_events.wait_for("REGISTRATION", disable_timeout_s + 20, after=mark)
    away_s = back.received_at - gone.received_at
    assert away_s >= disable_timeout_s - 1, f"registered again after {away_s:.1f} s, Disable Timeout {disable_timeout_s} s"
    assert back.data["address"] == proxy.upstream_address, (back.data["address"], proxy.upstream_address)
    device.coap_events.assert_alive()

    # Leshan's log of the case: the DELETE, then the new Register, and nothing from the client in
    # between. Both ends being in the log shows that it followed the client all the way.
    log = coap_log(device.coap_events, mark)
    delete_at = next(
        (i for i, e in enumerate(log) if e.get("incoming") and e.get("code") == "DELETE"), None
    )
    register_at = next(
        (i for i, e in enumerate(log) if e.get("incoming") and e.get("code") == "POST" and coap_options(e).get("Uri-Path") == ["rd"]),
        None,
    )
    assert delete_at is not None and register_at is not None and delete_at < register_at, describe_exchange(device.coap_events, mark)
    silent = [e for e in log[delete_at + 1 : register_at] if e.get("incoming")]
    assert not silent, f"the client talked while disabled: {silent}"
    # The proxy's count: after the de-registration (and a DTLS close_notify within 1 s), no datagram
    # from the client until the Disable Timeout ran out.
    sent = [t for t in proxy.arrivals(UP, since=gone.received_at + 1.0) if t.time < gone.received_at + disable_timeout_s - 1]
    assert not sent, f"{len(sent)} datagrams from the client while disabled: {sent[:5]}"
    assert leshan.server.registration(device.endpoint) is not None


# ------------------------------------------------------------------------- server-initiated bootstrap


def test_server_initiated_bootstrap_via_bootstrap_request_trigger(leshan, carrier_device, provision):
    """Server-initiated bootstrap (LwM2M 1.1 int-5, Server resource 9 of the original): the LwM2M
    server executes Bootstrap-Request Trigger /1/0/9 (2.04); the client de-registers, runs a new
    client-initiated bootstrap session with the bootstrap server, and registers again with a new
    registration. (A 1.0 bootstrap server cannot reach a device behind DTLS on its own; the
    trigger is how a server starts a bootstrap.)"""
    device = start_registered(carrier_device, provision, lifetime=300)
    registered = device.dm_events.wait_for("REGISTRATION", 5)
    before = len(leshan.bootstrap.session_events(device.endpoint))
    mark = device.coap_events.mark()

    assert_code(leshan.server.execute(device.endpoint, "/1/0/9"), "2.04", "Execute /1/0/9", device.coap_events, mark)
    device.coap_events.wait_for("DEREGISTRATION", 10, after=mark)
    again = device.coap_events.wait_for("REGISTRATION", 30, after=mark)
    assert registration_id_of(again) != registration_id_of(registered)

    names = [e["name"] for e in leshan.bootstrap.session_events(device.endpoint)[before:]]
    assert "new session" in names and "finished" in names, f"no second bootstrap session: {names}"


def registration_id_of(event) -> str:
    data = event.data
    return data.get("registrationId") or data.get("registration", {}).get("registrationId")
