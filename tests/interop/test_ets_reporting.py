"""OMA-ETS-LightweightM2M-V1_0 interoperability cases, information reporting interface, against Leshan.

Cases: int-301 (Observe + Notify with pmin/pmax), int-302 (cancel by CoAP Reset), int-303 (cancel by
Observe=1, sent by Leshan's CancelObservationRequest through leshan/InteropLeshanServer.java). They
share one registered device; every case cancels its observations and unsets its attributes.

Periods are scaled down from the ETS's (pmin/pmax 5/15 and 10/20 s) to 1/3 and 2/6 s: the two
resources' pmax windows (observations.py: [pmax - 0.5, pmax + 2] s) do not overlap each other nor
reach down to pmin, so a client that mixed the two resources' attributes up, or notified at pmin,
fails. The sample's Device values do not change, so the client notifies when pmax runs out (TS
1.0.2 §5.1.2: pmax forces a notification; pmin bounds them). Notification timing is measured on
Leshan's COAPLOG timestamps (receipt at the server); the Observe response is not counted as a
notification.
Spec: OMA-TS-LightweightM2M-V1_0_2 §5.5 (information reporting), §5.1.2 (attributes); RFC 7641
§3.6 (Reset or a GET with Observe=1 cancels an observation), §4.4 (sequence numbers).
"""

from __future__ import annotations

import time

import pytest

from conftest import start_registered
from leshan_api import assert_code, coap_log, coap_options, describe_coap, describe_exchange, lwm2m_code, response_to
from observations import LATE_S, assert_every_pmax, notifications, observe, wait_for_notifications


@pytest.fixture(scope="module")
def device(module_carrier_device, module_provision):
    return start_registered(module_carrier_device, module_provision, lifetime=300)


def wait_for_reset(device, token: str, after: int, timeout: float) -> dict:
    """The first CoAP Reset the server sent, after event index `after`, to a message of `token`."""
    deadline = time.monotonic() + timeout
    while True:
        seen = device.coap_events.mark()
        log = coap_log(device.coap_events, after)
        mids = {e["mId"] for e in log if e.get("incoming") and e.get("token") == token}
        for entry in log:
            if not entry.get("incoming") and entry.get("type") == "RST" and entry.get("mId") in mids:
                return entry
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no Reset to token {token} within {timeout:.0f} s:\n" + describe_exchange(device.coap_events, after))
        try:
            device.coap_events.wait_for("COAPLOG", remaining, after=seen)
        except AssertionError:
            device.coap_events.assert_alive()  # else reported by the deadline check


def quiet_for(device, seconds: float) -> None:
    """Let `seconds` pass with the event stream alive: what did not arrive was not sent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.2)
    device.coap_events.assert_alive()


def test_int_301_observation_and_notification(leshan, device):
    """int-301: Read /3/0/6 (power sources); Write-Attributes /3/0/7 pmin=1&pmax=3 and /3/0/8
    pmin=2&pmax=6 (2.04); Observe both (2.05 with Observe option and the values); the client then
    notifies each every pmax of its own, with the values and rising Observe numbers."""
    endpoint = device.endpoint
    sources = assert_code(leshan.server.read(endpoint, "/3/0/6", "TLV"), "2.05", "Read /3/0/6")
    assert sources["content"]["values"] == {"0": 0, "1": 1}, sources
    periods = {"/3/0/7": (1, 3), "/3/0/8": (2, 6)}
    expected = {"/3/0/7": {"0": 5000, "1": 3700}, "/3/0/8": {"0": 120, "1": 80}}
    observed = {}
    try:
        for path, (pmin, pmax) in periods.items():
            assert_code(leshan.server.write_attributes(endpoint, path, pmin=pmin, pmax=pmax), "2.04", f"Write-Attributes {path}")
        for path in periods:
            answer, observed[path] = observe(leshan.server, device, path)
            assert answer["content"]["values"] == expected[path], answer
        for path, (pmin, pmax) in periods.items():
            found = wait_for_notifications(device.coap_events, observed[path], 2, timeout=2 * pmax + 2 * LATE_S + 2)
            assert_every_pmax(observed[path], found[:2], pmin, pmax, path)
            event = device.coap_events.wait_for("NOTIFICATION", 2, lambda d: d.get("res") == path, after=observed[path].mark)
            assert event.data["val"]["values"] == expected[path], event.data
    finally:
        for path in periods:
            leshan.server.cancel_observation(endpoint, path)
            leshan.server.write_attributes(endpoint, path, pmin=None, pmax=None)


def test_int_302_cancel_observation_by_reset(leshan, device):
    """int-302: with /3/0/7 and /3/0/8 observed, the server answers a notification of /3/0/7 with a
    CoAP Reset, later one of /3/0/8: the client stops notifying /3/0/7 first, then /3/0/8, and
    sends nothing more for either."""
    endpoint = device.endpoint
    paths = ("/3/0/7", "/3/0/8")
    observed = {}
    try:
        for path in paths:
            assert_code(leshan.server.write_attributes(endpoint, path, pmin=1, pmax=2), "2.04", f"Write-Attributes {path}")
        for path in paths:
            _, observed[path] = observe(leshan.server, device, path)
        for path in paths:
            wait_for_notifications(device.coap_events, observed[path], 1, timeout=2 + LATE_S + 2)

        resets = {}
        for path in paths:
            mark = device.coap_events.mark()
            # Leshan 2.0.0-M4 forgets the observation; the next notification gets a Reset (one
            # already on its way when Leshan forgot may still be accepted: wait for the Reset).
            leshan.server.cancel_observation(endpoint, path)
            reset = wait_for_reset(device, observed[path].token, mark, timeout=2 * 2 + LATE_S + 1)
            resets[path] = (reset, device.coap_events.mark())
        # 2 x pmax after the last Reset: nothing more from either observation after its Reset.
        quiet_for(device, 2 * 2 + LATE_S)
        for path in paths:
            reset, after_reset = resets[path]
            late = notifications(device.coap_events, observed[path], after_reset)
            assert not late, (
                f"{path}: the client kept notifying after the Reset {describe_coap(reset)}:\n"
                + "\n".join(describe_coap(e) for e in late)
            )
        # ...and /3/0/8 was still notified after /3/0/7 had been cancelled.
        assert notifications(device.coap_events, observed["/3/0/8"], resets["/3/0/7"][1]), "/3/0/8 stopped together with /3/0/7"
    finally:
        for path in paths:
            leshan.server.cancel_observation(endpoint, path)
            leshan.server.write_attributes(endpoint, path, pmin=None, pmax=None)


def test_int_303_cancel_observation_by_observe_cancel(leshan, device):
    """int-303: /3/0 observed with pmin=1&pmax=2 and notifying; the server sends a GET /3/0 with
    Observe=1 and the observation's token (Leshan's CancelObservationRequest); the client answers
    2.05 with the instance and without an Observe option (RFC 7641 §3.6: it is a plain GET now that
    the observer is gone) and sends no notification of that token any more.

    Leshan keeps its side of the observation meanwhile (InteropLeshanServer does not forget it), so
    a client that went on notifying would be accepted and logged, not just answered with a Reset."""
    endpoint = device.endpoint
    pmax = 2
    try:
        assert_code(leshan.server.write_attributes(endpoint, "/3/0", pmin=1, pmax=pmax), "2.04", "Write-Attributes /3/0")
        _, observed = observe(leshan.server, device, "/3/0")
        wait_for_notifications(device.coap_events, observed, 1, timeout=pmax + LATE_S + 2)

        mark = device.coap_events.mark()
        answer = leshan.server.cancel_observation_active(endpoint, "/3/0")
        assert lwm2m_code(answer) == "2.05", f"Observe=1 GET: {answer}\n{describe_exchange(device.coap_events, mark)}"
        assert answer["token"].lower() == observed.token.lower(), (answer, observed.token)
        cancel = next(
            (
                e
                for e in coap_log(device.coap_events, mark)
                if not e.get("incoming")
                and e.get("code") == "GET"
                and e.get("token") == observed.token
                and coap_options(e).get("Observe") == ["1"]
            ),
            None,
        )
        assert cancel is not None, f"no GET with Observe: 1 on the wire:\n{describe_exchange(device.coap_events, mark)}"
        assert coap_options(cancel).get("Uri-Path") == ["3", "0"], describe_coap(cancel)
        response = response_to(device.coap_events, cancel)
        assert response["type"] == "ACK" and response["code"] == "2.05", describe_coap(response)
        assert "Observe" not in coap_options(response), (
            f"the answer to Observe=1 still carries Observe (the client kept the observer): {describe_coap(response)}"
        )
        after_cancel = device.coap_events.mark()
        quiet_for(device, 2 * pmax + LATE_S)
        late = [e for e in notifications(device.coap_events, observed, after_cancel) if e.get("mId") != response.get("mId")]
        assert not late, (
            f"the client kept notifying /3/0 after the Observe=1 GET {describe_coap(cancel)}:\n"
            + "\n".join(describe_coap(e) for e in late)
        )
    finally:
        leshan.server.cancel_observation(endpoint, "/3/0")
        leshan.server.write_attributes(endpoint, "/3/0", pmin=None, pmax=None)
