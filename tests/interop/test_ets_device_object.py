"""OMA-ETS-LightweightM2M-V1_0 interoperability cases on the Device object (3), against Leshan.

Cases: int-241 / int-655 (Reboot), int-651 (access to the resources), int-652 (firmware version),
int-656 (Factory Reset), int-657 (Error Code), int-660 (basic observation), int-661 (extended
observation with Step / Greater Than). int-651, 652 and 660 share one device and restore what they
change; the others run on their own device (they reboot it, wipe it, or move its clock).

The device is the host sample: its Device values are fixed by the sample (samples/lwm2m_carrier,
behaviour.md §7.11) and the modem simulator (port/README.md); the clock (/3/0/13) runs.
Spec: OMA-TS-LightweightM2M-V1_0_2 §E.4 (Device object), §5.4 (device management), §5.5 and §5.1.2
(observation, attributes); ETS OMA-ETS-LightweightM2M-V1_0_1 §6.1.3.9, §6.1.6.4.
"""

from __future__ import annotations

import time

import pytest

from conftest import start_registered
from leshan_api import assert_code, coap_log, coap_options, describe_exchange, node_values
from managed_process import RESTART_MARKER, assert_subsequence
from observations import LATE_S, assert_periods, observe, wait_for_notifications

FW_VERSION = "mfw_nrf9160_1.2.3-ets"
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z, a clock value far from the host's


def iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def epoch(text: str) -> int:
    return int(time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)


@pytest.fixture(scope="module")
def device(module_carrier_device, module_provision):
    return start_registered(
        module_carrier_device, module_provision, lifetime=300, extra_env={"LWM2M_HOST_FW_VERSION": FW_VERSION}
    )


# ------------------------------------------------------------------------------------------- reboot


def reboot_and_come_back(leshan, device) -> None:
    """Execute Reboot /3/0/4 -> 2.04; the device restarts (REBOOT event, exit 64) and Leshan sees it
    back. After a reboot with a stored registration the original library reconnects with an Update
    (behaviour.md §7.8), not a new Register: either is accepted as "registers again"."""
    before_line = device.process.mark()
    before_events = device.dm_events.mark()
    mark = device.coap_events.mark()
    assert_code(leshan.server.execute(device.endpoint, "/3/0/4"), "2.04", "Execute /3/0/4", device.coap_events, mark)
    device.process.wait_for_event("REBOOT", 10, after=before_line)
    restart_line, _ = device.process.wait_for(rf"^{RESTART_MARKER}$", timeout=30, after=before_line)
    device.process.wait_for_event("REGISTERED", 60, after=restart_line)
    assert_subsequence(
        device.process.events(after=restart_line), ["BSDLIB_INIT", "LTE_READY", "REGISTERED"], "events after the reboot"
    )
    back = device.dm_events.wait_for_any(("REGISTRATION", "UPDATED"), 10, after=before_events)
    device.notes.append(f"back after the reboot with {back.name}")
    print(f"int-241/655: Leshan saw the rebooted device come back with {back.name}")
    assert leshan.server.registration(device.endpoint) is not None
    # One reboot only: the 2.04 went out before it, so Leshan did not retransmit the Execute.
    assert device.process.restarts == 1, f"{device.process.restarts} restarts"


def test_int_241_executable_resource_reboot(leshan, carrier_device, provision):
    """int-241: Execute /3/0/4 -> 2.04; the device reboots and registers with the server again."""
    reboot_and_come_back(leshan, start_registered(carrier_device, provision, lifetime=300))


def test_int_655_reboot_capability(leshan, carrier_device, provision):
    """int-655 (ETS: same scope as int-241), on a device of its own."""
    reboot_and_come_back(leshan, start_registered(carrier_device, provision, lifetime=300))


# ------------------------------------------------------------------------------------------- 651 / 652


def device_instance(leshan, device) -> dict[int, object]:
    answer = assert_code(leshan.server.read(device.endpoint, "/3/0", "TLV"), "2.05", "Read /3/0")
    return node_values(answer["content"])


def test_int_651_check_access_to_resources(leshan, device):
    """int-651: POST (partial update) in TLV of the writable Device resources (Current Time, UTC
    Offset, Timezone) -> 2.04; a Read of /3/0 (2.05) shows them with every readable resource of
    §E.4; PUT (replace) with the initial values -> 2.04; the Read shows the initial values again."""
    endpoint = device.endpoint
    initial = device_instance(leshan, device)
    readable = {0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21}
    assert readable <= set(initial), f"missing readable resources: {sorted(readable - set(initial))}"
    set_of_values = {13: iso(T0), 14: "UTC+05:30", 15: "Asia/Kolkata"}
    try:
        mark = device.coap_events.mark()
        node = {"id": 0, "resources": [{"id": r, "value": v} for r, v in set_of_values.items()]}
        assert_code(leshan.server.write(endpoint, "/3/0", node, "TLV", replace=False), "2.04", "Write (partial update) /3/0", device.coap_events, mark)
        written = device_instance(leshan, device)
        assert written[14] == "UTC+05:30" and written[15] == "Asia/Kolkata", written
        assert 0 <= epoch(written[13]) - T0 <= 5, f"Current Time {written[13]}, written {iso(T0)}"
        assert {r: written[r] for r in readable - {10, 13, 14, 15}} == {r: initial[r] for r in readable - {10, 13, 14, 15}}
    finally:
        restore = {13: iso(epoch(initial[13]) + 3), 14: initial[14], 15: initial[15]}
        node = {"id": 0, "resources": [{"id": r, "value": v} for r, v in restore.items()]}
        mark = device.coap_events.mark()
        assert_code(leshan.server.write(endpoint, "/3/0", node, "TLV", replace=True), "2.04", "Write (replace) /3/0", device.coap_events, mark)
    restored = device_instance(leshan, device)
    assert restored[14] == initial[14] and restored[15] == initial[15], restored
    assert abs(epoch(restored[13]) - epoch(initial[13])) <= 10, (restored[13], initial[13])


def test_int_652_query_firmware_version(leshan, device):
    """int-652: Read /3/0/3 without Accept (the client's preferred format) -> 2.05, the version."""
    mark = device.coap_events.mark()
    answer = assert_code(leshan.server.read(device.endpoint, "/3/0/3", None), "2.05", "Read /3/0/3", device.coap_events, mark)
    assert answer["content"]["value"] == FW_VERSION
    # Its own GET: the event stream can still deliver the previous test's GET /3/0 after the mark.
    request = next(e for e in coap_log(device.coap_events, mark)
                   if not e.get("incoming") and e.get("code") == "GET" and coap_options(e).get("Uri-Path") == ["3", "0", "3"])
    assert "Accept" not in coap_options(request), request


# ------------------------------------------------------------------------------------------- 656 / 657


def test_int_656_factory_reset(leshan, carrier_device, provision):
    """int-656: Execute Factory Reset /3/0/5 -> 2.04; the device erases its configuration, reboots,
    bootstraps again (a second bootstrap session that finishes) and registers anew."""
    device = start_registered(carrier_device, provision, lifetime=300)
    first_registration = leshan.server.registration(device.endpoint)["registrationId"]
    sessions_before = leshan.bootstrap.session_event_names(device.endpoint).count("finished")
    before_line = device.process.mark()
    before_events = device.dm_events.mark()

    mark = device.coap_events.mark()
    assert_code(leshan.server.execute(device.endpoint, "/3/0/5"), "2.04", "Execute /3/0/5", device.coap_events, mark)
    restart_line, _ = device.process.wait_for(rf"^{RESTART_MARKER}$", timeout=30, after=before_line)
    device.process.wait_for_event("REGISTERED", 60, after=restart_line)
    assert "BOOTSTRAPPED" in device.process.events(after=restart_line), device.process.events(after=restart_line)
    assert leshan.bootstrap.session_event_names(device.endpoint).count("finished") == sessions_before + 1
    registered = device.dm_events.wait_for("REGISTRATION", 10, after=before_events)
    assert registered.data["registrationId"] != first_registration


def test_int_657_error_code(leshan, carrier_device, provision):
    """int-657: Error Code /3/0/11 reads the application's codes ([1] low charge, as the sample sets);
    Execute Reset Error Code /3/0/12 -> 2.04; /3/0/11 then reads [0] (no error)."""
    device = start_registered(carrier_device, provision, lifetime=300)
    before = assert_code(leshan.server.read(device.endpoint, "/3/0/11", "TLV"), "2.05", "Read /3/0/11")
    assert before["content"]["values"] == {"0": 1}, before
    mark = device.coap_events.mark()
    assert_code(leshan.server.execute(device.endpoint, "/3/0/12"), "2.04", "Execute /3/0/12", device.coap_events, mark)
    after = assert_code(leshan.server.read(device.endpoint, "/3/0/11", "TLV"), "2.05", "Read /3/0/11")
    assert after["content"]["values"] == {"0": 0}, after


# ------------------------------------------------------------------------------------------- 660 / 661


def messages_with(device, token: str, after: int = 0) -> list[dict]:
    return [e for e in coap_log(device.coap_events, after) if e.get("incoming") and e.get("token") == token]


def observation_token(device, mark: int, segments: list[str]) -> str:
    return next(
        e["token"]
        for e in coap_log(device.coap_events, mark)
        if not e.get("incoming") and e.get("code") == "GET" and coap_options(e).get("Uri-Path") == segments
    )


def test_int_660_basic_observation_of_device_object(leshan, device):
    """int-660 (ETS: same scope as int-301), on the Device instance: Write-Attributes /3/0
    pmin=2&pmax=6 (2.04), Observe /3/0 (2.05, the instance), then notifications of the whole
    instance every pmax, with rising Observe numbers. The instance holds the clock (/3/0/13), which
    the client samples every 30 s: within the 18 s watched, one notification may come earlier, for
    that change (never before pmin)."""
    endpoint = device.endpoint
    pmin, pmax = 2, 6
    try:
        assert_code(leshan.server.write_attributes(endpoint, "/3/0", pmin=pmin, pmax=pmax), "2.04", "Write-Attributes /3/0")
        answer, observed = observe(leshan.server, device, "/3/0")
        assert node_values(answer["content"])[0] == "Nordic Semiconductor ASA"
        found = wait_for_notifications(device.coap_events, observed, 3, timeout=3 * pmax + 2 * LATE_S + 2)
        assert_periods(observed, found[:3], pmin, pmax, changes=1, what="/3/0")
        event = device.coap_events.wait_for("NOTIFICATION", 2, lambda d: d.get("res") == "/3/0", after=observed.mark)
        assert node_values(event.data["val"])[2] == device.imei
    finally:
        leshan.server.cancel_observation(endpoint, "/3/0")
        leshan.server.write_attributes(endpoint, "/3/0", pmin=None, pmax=None)


def test_int_661_extended_observation_of_device_object(leshan, carrier_device, provision):
    """int-661: value-conditioned notifications (TS 1.0.2 §5.1.2) on Current Time /3/0/13 with
    pmin=1, pmax=60 (no periodic one during the test):
    - st=100: a write 50 s ahead is no notification, one 300 s ahead is, with the new value;
    - then st unset and gt=T0+1000: crossing it upwards notifies.
    Writes are the way to move the value from the server (the clock's own ticking is sampled only
    every 30 s and stays well below the step here)."""
    device = start_registered(carrier_device, provision, lifetime=300)
    endpoint = device.endpoint

    def write_time(value: int) -> None:
        assert_code(
            leshan.server.write(endpoint, "/3/0/13", {"id": 13, "value": iso(value)}, "TEXT"), "2.04", f"Write /3/0/13 = {value}"
        )

    def notified_values(token: str, after: int) -> list[int]:
        return [int(e["payload"]) for e in messages_with(device, token, after) if e.get("payload", "").isdigit()]

    write_time(T0)
    assert_code(leshan.server.write_attributes(endpoint, "/3/0/13", pmin=1, pmax=60, st=100), "2.04", "Write-Attributes st")
    mark = device.coap_events.mark()
    observed = assert_code(leshan.server.observe(endpoint, "/3/0/13", "TEXT"), "2.05", "Observe /3/0/13", device.coap_events, mark)
    assert abs(epoch(observed["content"]["value"]) - T0) <= 5, observed
    token = observation_token(device, mark, ["3", "0", "13"])

    small = device.coap_events.mark()
    write_time(T0 + 50)
    time.sleep(2.5)  # pmin + slack: a notification would have come by now
    device.coap_events.assert_alive()
    assert notified_values(token, small) == [], f"notified below the step:\n{describe_exchange(device.coap_events, small)}"

    big = device.coap_events.mark()
    write_time(T0 + 300)
    device.coap_events.wait_for("NOTIFICATION", 4, lambda d: d.get("res") == "/3/0/13", after=big)
    assert [v for v in notified_values(token, big) if abs(v - (T0 + 300)) <= 5], describe_exchange(device.coap_events, big)

    assert_code(leshan.server.write_attributes(endpoint, "/3/0/13", st=None, gt=T0 + 1000), "2.04", "Write-Attributes gt")
    below = device.coap_events.mark()
    write_time(T0 + 600)  # moves, stays below gt: no notification without st
    time.sleep(2.5)
    device.coap_events.assert_alive()
    assert notified_values(token, below) == [], f"notified without crossing gt:\n{describe_exchange(device.coap_events, below)}"
    cross = device.coap_events.mark()
    write_time(T0 + 2000)
    device.coap_events.wait_for("NOTIFICATION", 4, lambda d: d.get("res") == "/3/0/13", after=cross)
    assert [v for v in notified_values(token, cross) if abs(v - (T0 + 2000)) <= 5], describe_exchange(device.coap_events, cross)
