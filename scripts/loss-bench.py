#!/usr/bin/env python3
"""Time to bootstrap and register under packet loss: the host sample against Leshan on loopback,
through tests/interop/udp_fault_proxy.py in front of both servers. Not a test: it prints a table.

    scripts/loss-bench.py                       # 0, 10, 30 % loss, 3 runs each
    scripts/loss-bench.py --runs 5 --loss 0,20,40 --duplicate 0.1 --reorder 0.1

Each run is a fresh device (new IMEI, empty storage) whose bootstrap URI is the bootstrap proxy and
whose bootstrap config names the LwM2M-server proxy as its server; loss applies in both directions,
with seed = --seed + run index (the same seeds for every loss rate). Measured from the start of the
process to the LWM2M_CARRIER_EVENT_BOOTSTRAPPED and _REGISTERED lines; a run that does not register
within --timeout counts as failed (its times are left out of the medians). DEFERRED events (the
client gave up a connection or a sequence and waits before the next try) are counted. The host
port's DTLS handshake limit is raised to 60 s, as in tests/interop/test_hostile_network.py.

Needs what the interop suite needs (scripts/setup.sh): Java for Leshan (started here with
scripts/leshan.sh on free loopback ports, stopped at the end) and build/host/lwm2m_carrier_sample
(scripts/build-host-sample.sh; or $LWM2M_HOST_SAMPLE). Runs the .venv's Python if there is one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INTEROP = REPO / "tests" / "interop"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

if Path(sys.executable).resolve() != VENV_PYTHON.resolve() and VENV_PYTHON.exists() and not os.environ.get("LOSS_BENCH_NO_VENV"):
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), __file__, *sys.argv[1:]])

sys.path.insert(0, str(INTEROP))

from leshan_api import (  # noqa: E402
    LeshanBootstrapServer,
    LeshanServer,
    ServerAccount,
    bootstrap_config_for,
    random_imei,
    random_psk_hex,
)
from managed_process import ManagedProcess  # noqa: E402
from udp_fault_proxy import FaultProxy, Faults  # noqa: E402

LOOPBACK = "127.0.0.1"


def free_ports(count: int, kind: int) -> list[int]:
    socks, ports = [], []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, kind)
        sock.bind((LOOPBACK, 0))
        socks.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in socks:
        sock.close()
    return ports


def start_leshan(workdir: Path) -> dict[str, int]:
    udp = free_ports(4, socket.SOCK_DGRAM)
    tcp = free_ports(2, socket.SOCK_STREAM)
    ports = {
        "LESHAN_SERVER_COAP_PORT": udp[0],
        "LESHAN_SERVER_COAPS_PORT": udp[1],
        "LESHAN_BS_COAP_PORT": udp[2],
        "LESHAN_BS_COAPS_PORT": udp[3],
        "LESHAN_SERVER_WEB_PORT": tcp[0],
        "LESHAN_BS_WEB_PORT": tcp[1],
    }
    env = dict(os.environ, **{k: str(v) for k, v in ports.items()})
    started = subprocess.run([str(REPO / "scripts" / "leshan.sh"), "start", str(workdir)], env=env, capture_output=True, text=True)
    if started.returncode != 0:
        sys.exit(f"loss-bench: scripts/leshan.sh start failed:\n{started.stdout}\n{started.stderr}")
    return ports


def one_run(args, sample: Path, workdir: Path, ports: dict[str, int], loss: float, seed: int) -> dict:
    server = LeshanServer(LOOPBACK, ports["LESHAN_SERVER_WEB_PORT"])
    bootstrap = LeshanBootstrapServer(LOOPBACK, ports["LESHAN_BS_WEB_PORT"])
    faults = Faults(loss=loss, duplicate=args.duplicate, reorder=args.reorder)
    bs_proxy = FaultProxy((LOOPBACK, ports["LESHAN_BS_COAPS_PORT"]), seed=seed, up=faults, down=faults, name="bs").start()
    dm_proxy = FaultProxy((LOOPBACK, ports["LESHAN_SERVER_COAPS_PORT"]), seed=seed + 10_000, up=faults, down=faults, name="dm").start()
    imei = random_imei()
    endpoint = f"urn:imei:{imei}"
    bs_psk, dm_psk = random_psk_hex(), random_psk_hex()
    storage = workdir / f"storage-{imei}"
    storage.mkdir()
    bootstrap.add_psk(endpoint, identity=endpoint, key_hex=bs_psk)
    account = ServerAccount(uri=dm_proxy.uri(), psk_hex=dm_psk, lifetime=300)
    bootstrap.set_config(endpoint, bootstrap_config_for(endpoint, [account]))
    server.add_psk(endpoint, identity=endpoint, key_hex=dm_psk)
    env = dict(os.environ)
    env.update(
        {
            "LWM2M_HOST_STORAGE_DIR": str(storage),
            "LWM2M_HOST_IMEI": imei,
            "LWM2M_HOST_LOG_LEVEL": "inf",
            "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_URI": "y",
            "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_URI": bs_proxy.uri(),
            "CONFIG_LWM2M_CARRIER_USE_CUSTOM_BOOTSTRAP_PSK": "y",
            "CONFIG_LWM2M_CARRIER_CUSTOM_BOOTSTRAP_PSK": bs_psk,
        }
    )
    if args.dtls_timeout_ms:
        env["LWM2M_HOST_DTLS_TIMEOUT_MS"] = str(args.dtls_timeout_ms)
    process = ManagedProcess([str(sample)], env, workdir, name=f"bench-{imei}", cwd=workdir)
    result = {"loss": loss, "seed": seed, "bootstrap_s": None, "register_s": None, "deferred": 0, "log": process.stderr_path.name}
    started = time.monotonic()
    process.start()
    try:
        index = process.wait_for_event("BOOTSTRAPPED", args.timeout)
        result["bootstrap_s"] = time.monotonic() - started
        process.wait_for_event("REGISTERED", max(1.0, args.timeout - result["bootstrap_s"]), after=index)
        result["register_s"] = time.monotonic() - started
    except AssertionError as error:
        result["error"] = str(error).splitlines()[0]
    finally:
        process.stop()
        result["deferred"] = process.events().count("DEFERRED")
        result["bs_sessions"] = bootstrap.session_event_names(endpoint).count("new session")
        for proxy in (bs_proxy, dm_proxy):
            proxy.close()
        bootstrap.remove_config(endpoint)
        bootstrap.remove_psk(endpoint)
        server.remove_psk(endpoint)
    return result


def median(values: list[float]) -> str:
    return f"{statistics.median(values):6.1f}" if values else "     -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per loss rate (default 3)")
    parser.add_argument("--loss", default="0,10,30", help="loss rates in %%, comma separated (default 0,10,30)")
    parser.add_argument("--duplicate", type=float, default=0.0, help="duplication probability 0..1 (default 0)")
    parser.add_argument("--reorder", type=float, default=0.0, help="reordering probability 0..1 (default 0)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first run (default 1)")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds a run may take to register (default 240)")
    parser.add_argument(
        "--dtls-timeout-ms",
        type=int,
        default=60000,
        help="LWM2M_HOST_DTLS_TIMEOUT_MS, the host port's handshake limit (default 60000, as the lossy test; 0: the port's 10000)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="one line per run")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (client logs, Leshan logs)")
    args = parser.parse_args()
    losses = [float(x) / 100 for x in args.loss.split(",") if x.strip()]
    sample = Path(os.environ.get("LWM2M_HOST_SAMPLE", REPO / "build" / "host" / "lwm2m_carrier_sample"))
    if not os.access(sample, os.X_OK):
        sys.exit(f"loss-bench: {sample} missing: run scripts/build-host-sample.sh")
    if shutil.which("java") is None:
        sys.exit("loss-bench: Java missing (scripts/setup.sh)")

    workdir = Path(tempfile.mkdtemp(prefix="loss-bench-"))
    ports = start_leshan(workdir / "leshan")
    results: list[dict] = []
    try:
        for loss in losses:
            for run in range(args.runs):
                result = one_run(args, sample, workdir, ports, loss, args.seed + run)
                results.append(result)
                if args.verbose:
                    times = (
                        f"bootstrapped {result['bootstrap_s']:.1f} s, registered {result['register_s']:.1f} s"
                        if result["register_s"] is not None
                        else f"FAILED: {result.get('error')}"
                    )
                    print(
                        f"loss {loss:4.0%} seed {result['seed']}: {times}; DEFERRED x{result['deferred']}, "
                        f"{result['bs_sessions']} bootstrap session(s); log {result['log']}",
                        flush=True,
                    )
    finally:
        subprocess.run([str(REPO / "scripts" / "leshan.sh"), "stop", str(workdir / "leshan")])

    print(
        f"\nbootstrap + register through the fault proxy, both directions, duplicate {args.duplicate:.0%}, "
        f"reorder {args.reorder:.0%}, {args.runs} run(s) per row (seeds {args.seed}..{args.seed + args.runs - 1}), "
        f"DTLS handshake limit {args.dtls_timeout_ms or 10000} ms"
    )
    print("| loss | registered | median bootstrap s | median register s | max register s | DEFERRED (all runs) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for loss in losses:
        rows = [r for r in results if r["loss"] == loss]
        ok = [r for r in rows if r["register_s"] is not None]
        boot = [r["bootstrap_s"] for r in ok]
        reg = [r["register_s"] for r in ok]
        worst = f"{max(reg):6.1f}" if reg else "     -"
        print(
            f"| {loss:4.0%} | {len(ok)}/{len(rows)} | {median(boot)} | {median(reg)} | {worst} | "
            f"{sum(r['deferred'] for r in rows)} |"
        )
    if args.keep:
        print(f"\nlogs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
