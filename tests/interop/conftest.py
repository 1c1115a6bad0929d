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
- `module_carrier_device`, `module_provision`: the same two, living as long as the test module, for
  a device that several read-only tests share (the ETS suites boot one per module).
- `second_leshan_server` (session, started on first use): one more LwM2M server on other loopback
  ports (scripts/leshan.sh start-server), for the multi-server cases.
- `fault_proxy`: factory of udp_fault_proxy.FaultProxy relays in front of the bootstrap or the
  LwM2M server (loss, duplication, reordering, blackouts; also a stable server-side address for a
  device whose local port changes), stopped at teardown.
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

from leshan_api import (
    EventStream,
    LeshanBootstrapServer,
    LeshanServer,
    ServerAccount,
    bootstrap_config_for,
    random_imei,
    random_psk_hex,
)
from managed_process import ManagedProcess
from udp_fault_proxy import FaultProxy, Faults

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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: a long run (hostile network, minutes): deselect with -m 'not slow'"
    )


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


class Provisioner:
    """Makes the servers expect endpoints; forgets them again at close()."""

    def __init__(self, leshan: LeshanServers):
        self.leshan = leshan
        self.provisioned: list[tuple[str, list[LeshanServer]]] = []

    def __call__(self, endpoint: str, bs_psk_hex: str, dm_psk_hex: str, lifetime: int = 60, **options) -> None:
        """PSK for the bootstrap session, a bootstrap config with one account on the LwM2M server
        (`options`: the other ServerAccount fields, `uri` to reach the server through something
        else than its own coaps address, `auto_security_id`, `acls`), the server's PSK entry."""
        auto_security_id = options.pop("auto_security_id", False)
        acls = options.pop("acls", None)
        uri = options.pop("uri", None) or self.leshan.dm_coaps_uri  # e.g. a FaultProxy's in front of the server
        account = ServerAccount(uri=uri, psk_hex=dm_psk_hex, lifetime=lifetime, **options)
        self.accounts(endpoint, bs_psk_hex, [(self.leshan.server, account)], auto_security_id, acls)

    def accounts(
        self,
        endpoint: str,
        bs_psk_hex: str,
        accounts: list[tuple[LeshanServer, ServerAccount]],
        auto_security_id: bool = False,
        acls: Optional[list[dict]] = None,
    ) -> None:
        """Several server accounts, each on its LwM2M server (which gets the account's PSK), and the
        Access Control instances `acls` (leshan_api.acl_entry)."""
        self.leshan.bootstrap.add_psk(endpoint, identity=endpoint, key_hex=bs_psk_hex)
        config = bootstrap_config_for(endpoint, [account for _, account in accounts], auto_security_id, acls)
        self.leshan.bootstrap.set_config(endpoint, config)
        for server, account in accounts:
            server.add_psk(endpoint, identity=account.identity or endpoint, key_hex=account.psk_hex)
        self.provisioned.append((endpoint, [server for server, _ in accounts]))

    def close(self) -> None:
        for endpoint, servers in self.provisioned:
            self.leshan.bootstrap.remove_config(endpoint)
            for server in servers:
                server.remove_psk(endpoint)


@pytest.fixture
def provision(leshan):
    """provision(endpoint, bs_psk_hex, dm_psk_hex, lifetime): make both servers expect the endpoint."""
    provisioner = Provisioner(leshan)
    yield provisioner
    provisioner.close()


@pytest.fixture(scope="module")
def module_provision(leshan):
    """`provision` for the whole test module."""
    provisioner = Provisioner(leshan)
    yield provisioner
    provisioner.close()


@pytest.fixture(scope="session")
def second_leshan_server(leshan, tmp_path_factory) -> LeshanServer:
    """A second LwM2M server (leshan-server-demo) on its own loopback ports, started on first use."""
    workdir = tmp_path_factory.mktemp("leshan-second")
    used = set(leshan.ports.values())
    ports = {
        "LESHAN_SERVER_COAP_PORT": free_port(socket.SOCK_DGRAM, used),
        "LESHAN_SERVER_COAPS_PORT": free_port(socket.SOCK_DGRAM, used),
        "LESHAN_SERVER_WEB_PORT": free_port(socket.SOCK_STREAM, used),
    }
    env = dict(os.environ, **{k: str(v) for k, v in ports.items()})
    started = subprocess.run(
        [str(LESHAN_SCRIPT), "start-server", str(workdir)], env=env, capture_output=True, text=True, timeout=600
    )
    if started.returncode != 0:
        subprocess.run([str(LESHAN_SCRIPT), "stop", str(workdir)], timeout=60)
        pytest.fail(f"scripts/leshan.sh start-server failed ({started.returncode}):\n{started.stdout}\n{started.stderr}")
    server = LeshanServer(LOOPBACK, ports["LESHAN_SERVER_WEB_PORT"])
    server.coaps_uri = f"coaps://{LOOPBACK}:{ports['LESHAN_SERVER_COAPS_PORT']}"
    server.workdir = workdir
    yield server
    subprocess.run([str(LESHAN_SCRIPT), "stop", str(workdir)], timeout=60)


class ProxyFactory:
    """Makes started FaultProxy instances in front of the suite's servers; close() stops them and
    prints what each did (pytest shows it when the test failed)."""

    def __init__(self, leshan: LeshanServers):
        self.leshan = leshan
        self.proxies: list[FaultProxy] = []

    def __call__(
        self,
        server: str = "dm",
        seed: int = 0,
        up: Faults = Faults(),
        down: Faults = Faults(),
        **options,
    ) -> FaultProxy:
        """A proxy in front of the LwM2M server's ("dm") or the bootstrap server's ("bs") coaps port."""
        port = self.leshan.ports["LESHAN_SERVER_COAPS_PORT" if server == "dm" else "LESHAN_BS_COAPS_PORT"]
        proxy = FaultProxy((LOOPBACK, port), seed=seed, up=up, down=down, name=f"{server} proxy", **options)
        self.proxies.append(proxy.start())
        return proxy

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()
            print(f"--- {proxy.describe()}")


@pytest.fixture
def fault_proxy(leshan):
    """fault_proxy(server="dm"|"bs", seed=0, up=Faults(...), down=Faults(...)) -> a started
    udp_fault_proxy.FaultProxy in front of that server; point the device at proxy.uri()."""
    factory = ProxyFactory(leshan)
    yield factory
    factory.close()


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
    # Leshan's COAPLOG events follow a client by the address of its registration, looked up when the
    # stream opens: this second stream is (re)opened once the device is registered (follow_coap).
    coap_events: Optional[EventStream] = None

    @property
    def endpoint(self) -> str:
        return f"urn:imei:{self.imei}"

    def boot(self) -> int:
        """Start (or start again) on the same storage; returns the stdout index where this boot begins."""
        first_line = self.process.mark()
        self.process.start()
        return first_line

    def follow_coap(self, server: LeshanServer) -> EventStream:
        """(Re)open `coap_events` on `server` for the current registration: from now on it carries
        every CoAP message between the server and this device (COAPLOG) and the server's events."""
        if self.coap_events is not None:
            self.coap_events.close()
        self.coap_events = server.event_stream(self.endpoint)
        return self.coap_events


REGISTER_TIMEOUT_S = 60


def start_registered(
    devices: "DeviceFactory",
    provision: "Provisioner",
    lifetime: int = 300,
    extra_env: Optional[dict[str, str]] = None,
    **options,
) -> CarrierDevice:
    """A new device, provisioned (`options`: ServerAccount fields, `auto_security_id`), booted and
    registered: the sample printed REGISTERED and Leshan sent its REGISTRATION event; its
    `coap_events` stream follows it on the LwM2M server."""
    device = devices(extra_env=extra_env)
    provision(device.endpoint, device.bs_psk_hex, random_psk_hex(), lifetime, **options)
    device.boot()
    device.process.wait_for_event("REGISTERED", REGISTER_TIMEOUT_S)
    device.dm_events.wait_for("REGISTRATION", timeout=10)
    device.follow_coap(provision.leshan.server)
    return device


class DeviceFactory:
    """Makes CarrierDevices under `workdir`; close() kills them and prints what they and the servers said."""

    def __init__(self, leshan: LeshanServers, host_sample: Path, workdir: Path):
        self.leshan = leshan
        self.host_sample = host_sample
        self.workdir = workdir
        self.devices: list[CarrierDevice] = []

    def __call__(
        self,
        bootstrap_uri: Optional[str] = None,
        bootstrap_psk_hex: Optional[str] = None,
        extra_env: Optional[dict[str, str]] = None,
    ) -> CarrierDevice:
        imei = random_imei()
        storage = self.workdir / f"storage-{imei}"
        storage.mkdir()
        psk = bootstrap_psk_hex or random_psk_hex()
        env = dict(os.environ)
        env.update(
            {
                "LWM2M_HOST_STORAGE_DIR": str(storage),
                "LWM2M_HOST_IMEI": imei,
                "LWM2M_HOST_LOG_LEVEL": os.environ.get("LWM2M_INTEROP_LOG_LEVEL", "dbg"),
                "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI": "y",
                "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI": bootstrap_uri or self.leshan.bs_coaps_uri,
                "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK": "y",
                "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK": psk,
            }
        )
        env.update(extra_env or {})
        process = ManagedProcess([str(self.host_sample)], env, self.workdir, name=f"sample-{imei}", cwd=self.workdir)
        device = CarrierDevice(
            imei=imei,
            storage_dir=storage,
            env=env,
            process=process,
            dm_events=self.leshan.server.event_stream(f"urn:imei:{imei}"),
            bs_psk_hex=psk,
        )
        self.devices.append(device)
        return device

    def leave_server(self, device: CarrierDevice) -> None:
        """Have a still-registered device de-register (Execute Disable /1/0/4) before it is killed.

        Leshan 2.0.0-M4's CoAP log follows clients by address and forgets the address of an
        endpoint whose event streams closed - with up to 10 s delay, at its next heartbeat - by
        looking up that endpoint's registration. A killed device's registration would stay, so a
        later device that got the same local port would silently lose its CoAP log then. Best
        effort: a device that is not registered (any more) is left alone."""
        if not device.process.running or self.leshan.server.registration(device.endpoint) is None:
            return
        mark = device.dm_events.mark()
        try:
            self.leshan.server.execute(device.endpoint, "/1/0/4", timeout_s=2)
            device.dm_events.wait_for("DEREGISTRATION", 3, after=mark)
        except Exception as error:  # teardown must go on; the test result stands
            print(f"--- {device.endpoint} did not de-register at teardown: {error}")

    def close(self) -> None:
        for device in self.devices:
            self.leave_server(device)
            device.process.stop()
            device.dm_events.close()
            if device.coap_events is not None:
                device.coap_events.close()
            print(device.process.report())
            print(f"--- LwM2M server events for {device.endpoint}: {device.dm_events.names()}")
            try:
                bs_names = self.leshan.bootstrap.session_event_names(device.endpoint)
            except Exception as error:  # the report must not hide the test's own failure
                bs_names = f"(bootstrap server did not answer: {error})"
            print(f"--- bootstrap server events for {device.endpoint}: {bs_names}")
        if self.devices:
            print(self.leshan.log_tails())


@pytest.fixture
def carrier_device(leshan, host_sample, tmp_path, provision, fault_proxy):
    """carrier_device(bootstrap_uri=None, bootstrap_psk_hex=None, extra_env=None) -> CarrierDevice.

    Defaults: the loopback bootstrap server's coaps URI and a fresh random bootstrap PSK (the test
    provisions the servers with device.bs_psk_hex). The device is not started: call device.boot().
    It depends on `provision` so that devices are shut down before their PSKs are removed (Leshan
    can no longer reach a client whose PSK is gone, so it could not de-register it), and on
    `fault_proxy` so that a device behind a proxy de-registers before the proxy stops.
    """
    factory = DeviceFactory(leshan, host_sample, tmp_path)
    yield factory
    factory.close()


@pytest.fixture(scope="module")
def module_carrier_device(leshan, host_sample, tmp_path_factory, module_provision):
    """`carrier_device` for the whole test module (a device several tests share)."""
    factory = DeviceFactory(leshan, host_sample, tmp_path_factory.mktemp("devices"))
    yield factory
    factory.close()
