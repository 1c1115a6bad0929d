"""The fault proxy itself (udp_fault_proxy.py), against a UDP echo server on loopback: no Leshan,
no client under test, a few seconds. The hostile-network tests rely on these properties."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from udp_fault_proxy import DOWN, UP, FaultProxy, Faults

COUNT = 600


@pytest.fixture
def echo():
    """A UDP echo server on 127.0.0.1; yields its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                data, source = sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            sock.sendto(data, source)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    sock.close()


def exchange(proxy: FaultProxy, count: int = COUNT, gap_s: float = 0.0005, settle_s: float = 0.8) -> list[int]:
    """Send `count` numbered datagrams through the proxy; the numbers that came back, in arrival order."""
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    client.setblocking(False)
    got: list[int] = []

    def drain() -> None:
        while True:
            try:
                got.append(int.from_bytes(client.recv(64), "big"))
            except BlockingIOError:
                return

    try:
        for n in range(count):
            client.sendto(n.to_bytes(4, "big"), ("127.0.0.1", proxy.port))
            if gap_s:
                time.sleep(gap_s)
            drain()
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            time.sleep(0.01)
            drain()
    finally:
        client.close()
    return got


def test_transparent_without_faults(echo):
    with FaultProxy(("127.0.0.1", echo), seed=1) as proxy:
        got = exchange(proxy, 200)
        stats = proxy.snapshot()
    assert got == list(range(200))
    assert stats[UP].received == stats[UP].forwarded == 200 and stats[DOWN].forwarded == 200


def test_loss_rate_and_seeded_fates(echo):
    """30 % loss on the way up: about 30 % missing; the same seed loses the same datagrams."""
    runs = []
    for _ in range(2):
        with FaultProxy(("127.0.0.1", echo), seed=7, up=Faults(loss=0.3)) as proxy:
            runs.append(sorted(exchange(proxy)))
            stats = proxy.snapshot()
        assert stats[UP].dropped == COUNT - len(runs[-1])
    assert 0.22 <= 1 - len(runs[0]) / COUNT <= 0.38, len(runs[0])
    assert runs[0] == runs[1], "same seed, different fates"
    with FaultProxy(("127.0.0.1", echo), seed=8, up=Faults(loss=0.3)) as proxy:
        assert sorted(exchange(proxy)) != runs[0], "another seed, same fates"


def test_duplication_and_reordering_both_ways(echo):
    faults = Faults(duplicate=0.2, reorder=0.2, delay_ms=(5, 60))
    with FaultProxy(("127.0.0.1", echo), seed=3, up=faults, down=faults) as proxy:
        got = exchange(proxy, gap_s=0.002)
        stats = proxy.snapshot()
    assert set(got) == set(range(COUNT)), "nothing may be lost without loss"
    assert len(got) > COUNT * 1.2, f"{len(got) - COUNT} duplicates of {COUNT}"
    assert got != sorted(got), "no datagram overtook another"
    for direction in (UP, DOWN):
        assert stats[direction].duplicated > 0 and stats[direction].reordered > 0, stats


def test_blackout_drops_everything_for_a_while(echo):
    with FaultProxy(("127.0.0.1", echo), seed=1) as proxy:
        proxy.blackout(0.5)
        assert exchange(proxy, 20, gap_s=0.005, settle_s=0.1) == []
        time.sleep(0.5)
        assert exchange(proxy, 20) == list(range(20))
        assert proxy.snapshot()[UP].blackholed == 20


def test_rebind_gives_the_server_a_new_address(echo):
    with FaultProxy(("127.0.0.1", echo), seed=1) as proxy:
        before = proxy.upstream_address
        assert exchange(proxy, 5) == list(range(5))
        after = proxy.rebind()
        assert after != before
        assert exchange(proxy, 5) == list(range(5))


def test_bounded_and_loopback_only(echo):
    with pytest.raises(ValueError):
        FaultProxy(("192.0.2.1", 5684), seed=1)
    with pytest.raises(ValueError):
        Faults(loss=1.5)
    # Every datagram held back 300 ms, at most 16 waiting: the rest is dropped, not queued.
    with FaultProxy(("127.0.0.1", echo), seed=1, up=Faults(reorder=1.0, delay_ms=(300, 300)), max_pending=16) as proxy:
        exchange(proxy, 100, gap_s=0.0, settle_s=0.6)
        stats = proxy.snapshot()
    assert stats[UP].overflow >= 100 - 16 - 5, stats
