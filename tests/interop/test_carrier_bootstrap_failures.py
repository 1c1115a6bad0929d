"""Bootstrap failures against real Leshan servers: what the application is told, what Leshan saw.

Expected outcomes come from behaviour.md §7.7/§7.9 (the original library): a bootstrap server
that cannot be reached, or a DTLS handshake that fails, is retried later (DEFERRED with reason
BOOTSTRAP_NO_ROUTE/BOOTSTRAP_CONNECT and the retry delay); a bootstrap server that answers the
Bootstrap-Request with an error code other than 4.03 ends the bootstrap (ERROR BOOTSTRAP).
Leshan answers a Bootstrap-Request from an endpoint it has no config for with 4.00 Bad Request
("no bootstrap config", DefaultBootstrapHandler in 2.0.0-M4 and M18 alike).
"""

from __future__ import annotations

import socket
import time

from leshan_api import random_psk_hex
from managed_process import assert_subsequence

FAILURE_TIMEOUT_S = 60
DEFERRED_REASON = r"^Reason: (?P<reason>.+), timeout: (?P<timeout>-?\d+) seconds$"


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_deferred(device) -> tuple[str, int]:
    index = device.process.wait_for_event("DEFERRED", FAILURE_TIMEOUT_S)
    _, match = device.process.wait_for(DEFERRED_REASON, timeout=5, after=index + 1)
    return match["reason"], int(match["timeout"])


def assert_still_running(device) -> None:
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert device.process.running, "the sample must keep running after a deferral\n" + device.process.report()
        time.sleep(0.1)


def test_unreachable_bootstrap_server_defers(leshan, carrier_device):
    device = carrier_device(bootstrap_uri=f"coaps://127.0.0.1:{closed_udp_port()}")
    device.boot()

    reason, retry_s = wait_for_deferred(device)
    assert reason in ("Failed to connect to bootstrap server", "No route to bootstrap server"), reason
    assert retry_s > 0, f"DEFERRED must say when the retry comes, got timeout {retry_s}"
    events = device.process.events()
    assert_subsequence(events, ["BSDLIB_INIT", "CONNECTING", "CONNECTED", "DEFERRED"], "events")
    assert "BOOTSTRAPPED" not in events and "REGISTERED" not in events, events
    assert_still_running(device)
    assert leshan.bootstrap.session_events(device.endpoint) == []


def test_wrong_bootstrap_psk_defers(leshan, carrier_device, provision):
    device = carrier_device()
    provision(device.endpoint, random_psk_hex(), random_psk_hex(), 60)  # the server expects another PSK
    device.boot()

    reason, retry_s = wait_for_deferred(device)
    assert reason == "Failed to connect to bootstrap server", reason
    assert retry_s > 0, f"DEFERRED must say when the retry comes, got timeout {retry_s}"
    events = device.process.events()
    assert "BOOTSTRAPPED" not in events and "REGISTERED" not in events, events
    assert_still_running(device)
    # The DTLS handshake failed, so Leshan never got a Bootstrap-Request.
    assert "new session" not in leshan.bootstrap.session_event_names(device.endpoint)
    assert leshan.server.registration(device.endpoint) is None


def test_unknown_endpoint_bootstrap_fails(leshan, carrier_device):
    device = carrier_device()
    # Bootstrap credentials only: the DTLS session works, but there is no config for the endpoint.
    leshan.bootstrap.add_psk(device.endpoint, identity=device.endpoint, key_hex=device.bs_psk_hex)
    device.boot()

    # Leshan's side first: it accepted the session and refused the request for lack of a config.
    leshan.bootstrap.wait_for_session_event(device.endpoint, "no config", FAILURE_TIMEOUT_S)
    bs_events = leshan.bootstrap.session_event_names(device.endpoint)
    assert_subsequence(bs_events, ["new session", "authorized", "no config", "failed"], "bootstrap session")

    # 4.00 is neither "no answer" nor 4.03: ERROR BOOTSTRAP (behaviour.md §7.7), value 0 = sequence failure.
    index = device.process.wait_for_event("ERROR", FAILURE_TIMEOUT_S)
    _, match = device.process.wait_for(r"^(?P<text>.+), reason (?P<value>-?\d+)$", timeout=5, after=index + 1)
    assert match["text"] == "Bootstrap error", match.group(0)
    assert int(match["value"]) == 0, match.group(0)
    events = device.process.events()
    assert "BOOTSTRAPPED" not in events and "REGISTERED" not in events, events
    assert leshan.server.registration(device.endpoint) is None
