"""Fixtures of the interop suite: real Leshan servers on loopback, provisioning, clients under test.

- `leshan` (session): both servers started by scripts/leshan.sh on free 127.0.0.1 ports in a
  temporary working dir, stopped at the end. Skips the suite when Java is missing (the only
  reason to skip); any other start-up failure fails it.
- `provision`: PSK for the bootstrap DTLS session (identity = endpoint), bootstrap config
  (leshan_api.bootstrap_config) and the DM server's PSK entry for one endpoint.
- `host_sample` (session): path of build/host/lwm2m_carrier_sample (or $LWM2M_HOST_SAMPLE);
  FAILS when it is missing: run scripts/build-host-sample.sh.
- `carrier_device`: factory of devices running the host sample, each with its own storage dir,
  random IMEI (endpoint urn:imei:<IMEI>) and an open event stream from the LwM2M server for that
  endpoint; every process is killed at teardown and its stdout/stderr printed (pytest shows that
  output when the test failed).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

from leshan_api import EventStream, LeshanBootstrapServer, LeshanServer, bootstrap_config, random_imei, random_psk_hex
from managed_process import ManagedProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
LESHAN_SCRIPT = REPO_ROOT / "scripts" / "leshan.sh"
DEFAULT_HOST_SAMPLE = REPO_ROOT / "build" / "host" / "lwm2m_carrier_sample"
LOOPBACK = "127.0.0.1"


def free_port(kind: int, avoid: set[int]) -> int:
    """A loopback port nothing listens on now, for UDP (CoAP) or TCP (web)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as sock:
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
        if port not in avoid:
            avoid.add(port)
            return port


TEST_TIMEOUT_S = 240


def pytest_collection_modifyitems(config, items):
    """A hung peer must not eat the CI budget: every interop test gets a timeout (pytest-timeout)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_S))


@dataclass
class LeshanServers:
    workdir: Path
    ports: dict[str, int]
    server: LeshanServer
    bootstrap: LeshanBootstrapServer

    @property
    def dm_coaps_uri(self) -> str:
        return f"coaps://{LOOPBACK}:{self.ports['LESHAN_SERVER_COAPS_PORT']}"

    @property
    def bs_coaps_uri(self) -> str:
        return f"coaps://{LOOPBACK}:{self.ports['LESHAN_BS_COAPS_PORT']}"

    def log_tails(self, lines: int = 40) -> str:
        out = []
        for name in ("server", "bsserver"):
            path = self.workdir / name / f"{name}.log"
            try:
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            except OSError:
                text = ["(no log)"]
            out.append(f"--- Leshan {name} log ({path}) ---\n" + "\n".join(text))
        return "\n".join(out)


@pytest.fixture(scope="session")
def leshan(tmp_path_factory) -> LeshanServers:
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: the Leshan servers need a JDK 17 (apt-get install openjdk-17-jdk-headless)")
    workdir = tmp_path_factory.mktemp("leshan")
    used: set[int] = set()
    ports = {
        "LESHAN_SERVER_COAP_PORT": free_port(socket.SOCK_DGRAM, used),
        "LESHAN_SERVER_COAPS_PORT": free_port(socket.SOCK_DGRAM, used),
        "LESHAN_SERVER_WEB_PORT": free_port(socket.SOCK_STREAM, used),
        "LESHAN_BS_COAP_PORT": free_port(socket.SOCK_DGRAM, used),
        "LESHAN_BS_COAPS_PORT": free_port(socket.SOCK_DGRAM, used),
        "LESHAN_BS_WEB_PORT": free_port(socket.SOCK_STREAM, used),
    }
    env = dict(os.environ, **{k: str(v) for k, v in ports.items()})
    started = subprocess.run(
        [str(LESHAN_SCRIPT), "start", str(workdir)], env=env, capture_output=True, text=True, timeout=600
    )
    servers = LeshanServers(
        workdir=workdir,
        ports=ports,
        server=LeshanServer(LOOPBACK, ports["LESHAN_SERVER_WEB_PORT"]),
        bootstrap=LeshanBootstrapServer(LOOPBACK, ports["LESHAN_BS_WEB_PORT"]),
    )
    if started.returncode != 0:
        subprocess.run([str(LESHAN_SCRIPT), "stop", str(workdir)], timeout=60)
        pytest.fail(
            f"scripts/leshan.sh start failed ({started.returncode}):\n{started.stdout}\n{started.stderr}\n"
            + servers.log_tails()
        )
    yield servers
    subprocess.run([str(LESHAN_SCRIPT), "stop", str(workdir)], timeout=60)


@pytest.fixture
def provision(leshan):
    """provision(endpoint, bs_psk_hex, dm_psk_hex, lifetime): make both servers expect the endpoint."""
    provisioned: list[str] = []

    def _provision(endpoint: str, bs_psk_hex: str, dm_psk_hex: str, lifetime: int = 60) -> None:
        leshan.bootstrap.add_psk(endpoint, identity=endpoint, key_hex=bs_psk_hex)
        leshan.bootstrap.set_config(endpoint, bootstrap_config(endpoint, leshan.dm_coaps_uri, dm_psk_hex, lifetime))
        leshan.server.add_psk(endpoint, identity=endpoint, key_hex=dm_psk_hex)
        provisioned.append(endpoint)

    yield _provision
    for endpoint in provisioned:
        leshan.bootstrap.remove_config(endpoint)
        leshan.server.remove_psk(endpoint)


@pytest.fixture(scope="session")
def host_sample() -> Path:
    path = Path(os.environ.get("LWM2M_HOST_SAMPLE", DEFAULT_HOST_SAMPLE))
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"host sample {path} is missing: run scripts/build-host-sample.sh", pytrace=False)
    return path


@dataclass
class CarrierDevice:
    """One simulated nRF9160 running the host sample: identity, storage, process, server-side events."""

    imei: str
    storage_dir: Path
    env: dict[str, str]
    process: ManagedProcess
    dm_events: EventStream
    bs_psk_hex: str
    notes: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"urn:imei:{self.imei}"

    def boot(self) -> int:
        """Start (or start again) on the same storage; returns the stdout index where this boot begins."""
        first_line = self.process.mark()
        self.process.start()
        return first_line


@pytest.fixture
def carrier_device(leshan, host_sample, tmp_path):
    """carrier_device(bootstrap_uri=None, bootstrap_psk_hex=None, extra_env=None) -> CarrierDevice.

    Defaults: the loopback bootstrap server's coaps URI and a fresh random bootstrap PSK (the test
    provisions the servers with device.bs_psk_hex). The device is not started: call device.boot().
    """
    devices: list[CarrierDevice] = []

    def _make(
        bootstrap_uri: Optional[str] = None,
        bootstrap_psk_hex: Optional[str] = None,
        extra_env: Optional[dict[str, str]] = None,
    ) -> CarrierDevice:
        imei = random_imei()
        storage = tmp_path / f"storage-{imei}"
        storage.mkdir()
        psk = bootstrap_psk_hex or random_psk_hex()
        env = dict(os.environ)
        env.update(
            {
                "LWM2M_HOST_STORAGE_DIR": str(storage),
                "LWM2M_HOST_IMEI": imei,
                "LWM2M_HOST_LOG_LEVEL": os.environ.get("LWM2M_INTEROP_LOG_LEVEL", "dbg"),
                "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI": "y",
                "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI": bootstrap_uri or leshan.bs_coaps_uri,
                "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK": "y",
                "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK": psk,
            }
        )
        env.update(extra_env or {})
        process = ManagedProcess([str(host_sample)], env, tmp_path, name=f"sample-{imei}", cwd=tmp_path)
        device = CarrierDevice(
            imei=imei,
            storage_dir=storage,
            env=env,
            process=process,
            dm_events=leshan.server.event_stream(f"urn:imei:{imei}"),
            bs_psk_hex=psk,
        )
        devices.append(device)
        return device

    yield _make
    for device in devices:
        device.process.stop()
        device.dm_events.close()
        print(device.process.report())
        print(f"--- LwM2M server events for {device.endpoint}: {device.dm_events.names()}")
        try:
            bs_names = leshan.bootstrap.session_event_names(device.endpoint)
        except Exception as error:  # the report must not hide the test's own failure
            bs_names = f"(bootstrap server did not answer: {error})"
        print(f"--- bootstrap server events for {device.endpoint}: {bs_names}")
    if devices:
        print(leshan.log_tails())
