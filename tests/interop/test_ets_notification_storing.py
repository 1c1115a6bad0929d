"""OMA-ETS-LightweightM2M-V1_0 int-560, Delayed Report Notification (Server object, Notification
Storing When Disabled or Offline /1/x/6), against Leshan.

TS 1.0.2 §E.2 resource 6: when true, the client keeps the notifications that fall due while the
server account is disabled (or the client offline) and reports them once the account is enabled
again. The case: Notification Storing on, Disable Timeout 5 s, /3/0/9 observed with pmin=1&pmax=2,
Execute Disable; while disabled the client sends nothing; after it registers again the stored
notification for the observation (its token) reaches the server with the current value.

Leshan drops a client's observations when it registers anew, so it answers that notification with
a Reset instead of raising a NOTIFICATION event; the check is that the message came (COAPLOG).
The device reaches the server through a transparent fault_proxy, so Leshan sees it at one address
however the client binds its local port when it reconnects: Leshan's CoAP log, which follows the
address the registration had when the stream opened, covers the disabled period and the new
registration, and the proxy records every datagram the client sent meanwhile.
"""

from __future__ import annotations

from conftest import start_registered
from leshan_api import assert_code, coap_log, coap_options, coap_payload_bytes, describe_exchange
from udp_fault_proxy import UP

DISABLE_TIMEOUT_S = 5


def test_int_560_delayed_report_notification(leshan, carrier_device, provision, fault_proxy):
    proxy = fault_proxy("dm")
    device = start_registered(
        carrier_device,
        provision,
        lifetime=300,
        notification_storing=True,
        disable_timeout=DISABLE_TIMEOUT_S,
        uri=proxy.uri(),
    )
    endpoint = device.endpoint
    stream = device.coap_events
    storing = assert_code(leshan.server.read(endpoint, "/1/0/6", "TEXT"), "2.05", "Read /1/0/6")
    assert storing["content"]["value"] is True, storing
    assert leshan.server.registration(endpoint)["address"] == proxy.upstream_address

    assert_code(leshan.server.write_attributes(endpoint, "/3/0/9", pmin=1, pmax=2), "2.04", "Write-Attributes /3/0/9")
    mark = stream.mark()
    observed = assert_code(leshan.server.observe(endpoint, "/3/0/9", "TEXT"), "2.05", "Observe /3/0/9", stream, mark)
    assert observed["content"]["value"] == 87
    token = next(
        e["token"]
        for e in coap_log(stream, mark)
        if not e.get("incoming") and coap_options(e).get("Uri-Path") == ["3", "0", "9"]
    )
    stream.wait_for("NOTIFICATION", 5, lambda d: d.get("res") == "/3/0/9", after=mark)

    mark = stream.mark()
    assert_code(leshan.server.execute(endpoint, "/1/0/4"), "2.04", "Execute /1/0/4", stream, mark)
    gone = stream.wait_for("DEREGISTRATION", 10, after=mark)
    registered = stream.wait_for("REGISTRATION", DISABLE_TIMEOUT_S + 20, after=mark)
    assert registered.data["address"] == proxy.upstream_address, (registered.data["address"], proxy.upstream_address)

    def stored_notification(data) -> bool:
        return isinstance(data, dict) and data.get("incoming") and data.get("token") == token and data.get("code") == "2.05"

    stream.wait_for("COAPLOG", 5, stored_notification, after=mark)
    stream.assert_alive()
    # Leshan logs the Register before it raises REGISTRATION: split the log at the DELETE and the Register.
    log = coap_log(stream, mark)
    delete_at = next((i for i, e in enumerate(log) if e.get("incoming") and e.get("code") == "DELETE"), None)
    register_at = next(
        (
            i
            for i, e in enumerate(log)
            if e.get("incoming") and e.get("code") == "POST" and coap_options(e).get("Uri-Path") == ["rd"]
        ),
        None,
    )
    assert delete_at is not None and register_at is not None and delete_at < register_at, describe_exchange(stream, mark)
    while_disabled = [e for e in log[delete_at + 1 : register_at] if e.get("incoming")]
    assert not while_disabled, f"the client talked while disabled: {while_disabled}"
    sent = [t for t in proxy.arrivals(UP, since=gone.received_at + 1.0) if t.time < gone.received_at + DISABLE_TIMEOUT_S - 1]
    assert not sent, f"{len(sent)} datagrams from the client while disabled: {sent[:5]}"

    stored = [e for e in log[register_at + 1 :] if stored_notification(e)]
    assert stored, f"no stored notification after the new Register:\n{describe_exchange(stream, mark)}"
    assert "Observe" in coap_options(stored[0]), stored[0]
    assert coap_payload_bytes(stored[0]) == b"87", (
        f"stored notification with another value: {stored[0]}\n{describe_exchange(stream, mark)}"
    )
