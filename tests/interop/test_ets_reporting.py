"""OMA-ETS-LightweightM2M-V1_0 interoperability cases, information reporting interface, against Leshan.

Cases: int-301 (Observe + Notify with pmin/pmax), int-302 (cancel by CoAP Reset), int-303 (cancel by
Observe=1: not expressible with Leshan 2.0.0-M4, skipped). They share one registered device; every
case cancels its observations and unsets its attributes.

Periods are scaled down from the ETS's (pmin/pmax 5/15 and 10/20 s) to 1/2 and 2/3 s so that
several notifications arrive in seconds. The sample's Device values do not change, so the client
notifies when pmax runs out (TS 1.0.2 §5.1.2: pmax forces a notification; pmin bounds them).
Notification timing is measured on Leshan's COAPLOG timestamps (receipt at the server).
Spec: OMA-TS-LightweightM2M-V1_0_2 §5.5 (information reporting), §5.1.2 (attributes); RFC 7641
§3.6 (Reset cancels an observation), §4.4 (sequence numbers).
"""

from __future__ import annotations

import time

import pytest

from conftest import start_registered
from leshan_api import assert_code, coap_log, coap_options, describe_coap, describe_exchange

# Slack for scheduling on a shared 2-core machine (client timers + Leshan receipt).
LATE_S = 2.0  # scheduling slack on a loaded 2-core CI machine
EARLY_S = 0.5


@pytest.fixture(scope="module")
def device(module_carrier_device, module_provision):
    return start_registered(module_carrier_device, module_provision, lifetime=300)


def observe_token(device, mark: int, path: str) -> str:
    """Token of the Observe request Leshan sent for `path` after event index `mark`."""
    segments = path.strip("/").split("/")
    for entry in coap_log(device.coap_events, mark):
        options = coap_options(entry)
        if not entry.get("incoming") and entry.get("code") == "GET" and options.get("Uri-Path") == segments:
            assert options.get("Observe") == ["0"], entry
            return entry["token"]
    raise AssertionError(f"no Observe GET {path}:\n{describe_exchange(device.coap_events, mark)}")


def notifications(device, token: str, after: int = 0) -> list[dict]:
    """Every message the client sent with `token` (the Observe answer and the notifications)."""
    return [
        e
        for e in coap_log(device.coap_events, after)
        if e.get("incoming") and e.get("token") == token and str(e.get("code", "")).startswith("2.")
    ]


def wait_for_notifications(device, token: str, count: int, timeout: float, after: int = 0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        seen = device.coap_events.mark()
        found = notifications(device, token, after)
        if len(found) >= count:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"{len(found)} of {count} notifications (token {token}) within {timeout:.0f} s:\n"
                + describe_exchange(device.coap_events, after)
            )
        try:
            device.coap_events.wait_for(
                "COAPLOG", remaining, lambda d: isinstance(d, dict) and d.get("token") == token, after=seen
            )
        except AssertionError:
            pass  # the deadline check above reports it


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
            pass  # reported by the deadline check


def assert_periods(found: list[dict], pmin: float, pmax: float, what: str) -> None:
    """Consecutive messages of one observation are at least pmin and at most pmax apart, and their
    Observe sequence numbers increase (RFC 7641 §4.4)."""
    times = [e["timestamp"] / 1000 for e in found]
    gaps = [round(b - a, 2) for a, b in zip(times, times[1:])]
    assert all(pmin - EARLY_S <= g <= pmax + LATE_S for g in gaps), (
        f"{what}: gaps {gaps} s, expected within [{pmin}, {pmax}]:\n" + "\n".join(describe_coap(e) for e in found)
    )
    sequence = [int(coap_options(e)["Observe"][0]) for e in found]
    assert sequence == sorted(set(sequence)), f"{what}: Observe numbers {sequence}"


def test_int_301_observation_and_notification(leshan, device):
    """int-301: Read /3/0/6 (power sources); Write-Attributes /3/0/7 pmin=1&pmax=2 and /3/0/8
    pmin=2&pmax=3 (2.04); Observe both (2.05 with Observe option and the values); the client then
    notifies each regularly, within its own pmin/pmax, with the values."""
    endpoint = device.endpoint
    sources = assert_code(leshan.server.read(endpoint, "/3/0/6", "TLV"), "2.05", "Read /3/0/6")
    assert sources["content"]["values"] == {"0": 0, "1": 1}, sources
    periods = {"/3/0/7": (1, 2), "/3/0/8": (2, 3)}
    expected = {"/3/0/7": {"0": 5000, "1": 3700}, "/3/0/8": {"0": 120, "1": 80}}
    tokens = {}
    try:
        for path, (pmin, pmax) in periods.items():
            assert_code(leshan.server.write_attributes(endpoint, path, pmin=pmin, pmax=pmax), "2.04", f"Write-Attributes {path}")
        for path in periods:
            mark = device.coap_events.mark()
            answer = assert_code(leshan.server.observe(endpoint, path), "2.05", f"Observe {path}", device.coap_events, mark)
            assert answer["content"]["values"] == expected[path], answer
            tokens[path] = observe_token(device, mark, path)
        for path, (pmin, pmax) in periods.items():
            found = wait_for_notifications(device, tokens[path], 3, timeout=3 * pmax + 3)
            assert "Observe" in coap_options(found[0]), f"Observe answer without Observe option: {found[0]}"
            assert_periods(found[:3], pmin, pmax, path)
            event = device.coap_events.wait_for("NOTIFICATION", 2, lambda d: d.get("res") == path)
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
    tokens = {}
    try:
        for path in paths:
            assert_code(leshan.server.write_attributes(endpoint, path, pmin=1, pmax=2), "2.04", f"Write-Attributes {path}")
        for path in paths:
            mark = device.coap_events.mark()
            assert_code(leshan.server.observe(endpoint, path), "2.05", f"Observe {path}", device.coap_events, mark)
            tokens[path] = observe_token(device, mark, path)
        for path in paths:
            wait_for_notifications(device, tokens[path], 2, timeout=6)

        resets = {}
        for path in paths:
            mark = device.coap_events.mark()
            # Leshan 2.0.0-M4 forgets the observation; the next notification gets a Reset (one
            # already on its way when Leshan forgot may still be accepted: wait for the Reset).
            leshan.server.cancel_observation(endpoint, path)
            reset = wait_for_reset(device, tokens[path], mark, timeout=2 * 2 + LATE_S + 1)
            resets[path] = (reset, device.coap_events.mark())
        # 2 x pmax after the last Reset: nothing more from either observation after its Reset.
        quiet_until = time.monotonic() + 2 * 2 + LATE_S
        while time.monotonic() < quiet_until:
            time.sleep(0.2)
        for path in paths:
            reset, after_reset = resets[path]
            late = notifications(device, tokens[path], after_reset)
            assert not late, (
                f"{path}: the client kept notifying after the Reset {describe_coap(reset)}:\n"
                + "\n".join(describe_coap(e) for e in late)
            )
        # ...and /3/0/8 was still notified after /3/0/7 had been cancelled.
        assert notifications(device, tokens["/3/0/8"], resets["/3/0/7"][1]), "/3/0/8 stopped together with /3/0/7"
    finally:
        for path in paths:
            leshan.server.cancel_observation(endpoint, path)
            leshan.server.write_attributes(endpoint, path, pmin=None, pmax=None)


@pytest.mark.skip(
    reason="not expressible with Leshan 2.0.0-M4: its REST API cannot send an Observe with Observe=1 "
    "(DELETE .../observe only forgets the observation locally, which is int-302's Reset). Covered at "
    "engine level by engine::tests_dm::get_with_observe_1_cancels_and_is_still_answered_2_05"
)
def test_int_303_cancel_observation_by_observe_cancel():
    """int-303: GET /3/0 with Observe=1 cancels the observations; the client stops notifying."""
