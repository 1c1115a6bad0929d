"""Harness check with Leshan's own client (leshan/ReferenceLeshanClient.java): not a test of our code.

It proves that the servers, the provisioning (bootstrap PSK, bootstrap config, DM PSK), the
event stream and the bootstrap session log work end to end, so that a failure of the carrier
tests points at our client. Delete this file and ReferenceLeshanClient.java when that proof is
no longer wanted.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import LESHAN_SCRIPT
from leshan_api import node_values, random_imei, random_psk_hex
from managed_process import ManagedProcess

TIMEOUT_S = 60


@pytest.fixture(scope="module")
def reference_classpath(leshan) -> str:
    result = subprocess.run([str(LESHAN_SCRIPT), "classpath"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture
def reference_client(leshan, reference_classpath, tmp_path):
    clients: list[ManagedProcess] = []

    def _start(endpoint: str, bootstrap_psk_hex: str) -> ManagedProcess:
        argv = ["java", "-Xmx128m", "-XX:TieredStopAtLevel=1", "-cp", reference_classpath,
                "ReferenceLeshanClient", endpoint, leshan.bs_coaps_uri, bootstrap_psk_hex]
        process = ManagedProcess(argv, dict(os.environ), tmp_path, f"reference-{endpoint[-6:]}")
        clients.append(process.start())
        return process

    yield _start
    for process in clients:
        process.stop()
        print(process.report())


def test_reference_client_bootstraps_registers_and_updates(leshan, provision, reference_client):
    endpoint = f"urn:imei:{random_imei()}"
    bs_psk = random_psk_hex()
    events = leshan.server.event_stream(endpoint)
    try:
        provision(endpoint, bs_psk, random_psk_hex(), lifetime=20)
        client = reference_client(endpoint, bs_psk)
        client.wait_for(r"^REFERENCE_CLIENT BOOTSTRAP_SUCCESS$", TIMEOUT_S)
        client.wait_for(r"^REFERENCE_CLIENT REGISTRATION_SUCCESS ", TIMEOUT_S)

        assert [e for e in leshan.bootstrap.session_event_names(endpoint) if e in ("new session", "finished")] == [
            "new session",
            "finished",
        ]
        registration = leshan.server.registration(endpoint)
        assert registration["secure"] is True
        assert registration["lifetime"] == 20
        urls = [link["url"] for link in registration["objectLinks"]]
        assert "/1/0" in urls and "/3/0" in urls, urls

        events.wait_for("REGISTRATION", timeout=5)
        events.wait_for("UPDATED", timeout=25)

        answer = leshan.server.read(endpoint, "/3/0", "TLV")
        assert answer["success"], answer
        assert node_values(answer["content"])[2] == endpoint
    finally:
        events.close()


def test_reference_client_unknown_endpoint_gets_bad_request(leshan, reference_client):
    endpoint = f"urn:imei:{random_imei()}"
    bs_psk = random_psk_hex()
    leshan.bootstrap.add_psk(endpoint, identity=endpoint, key_hex=bs_psk)
    client = reference_client(endpoint, bs_psk)
    client.wait_for(r"^REFERENCE_CLIENT BOOTSTRAP_FAILURE BAD_REQUEST", TIMEOUT_S)
    leshan.bootstrap.wait_for_session_event(endpoint, "no config", 5)
