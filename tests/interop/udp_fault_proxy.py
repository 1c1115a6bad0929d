"""A UDP relay on loopback that loses, duplicates and reorders datagrams: a hostile network between
the client under test and a Leshan server.

    proxy = FaultProxy(("127.0.0.1", leshan_coaps_port), seed=1, up=Faults(loss=0.3), down=Faults(loss=0.3))
    proxy.start()
    ... the client talks to coaps://127.0.0.1:<proxy.port> (proxy.uri()) ...
    proxy.blackout(20)      # drop everything, both ways, for 20 s (a server restart / a dead link)
    proxy.close()

One proxy serves one client (one device): it listens on 127.0.0.1:<port>, forwards what arrives
there ("up") to the upstream server from one socket of its own, and forwards what the server
sends to that socket ("down") to the client address that sent last. The server so sees one stable
address for the device, whichever local port the client uses (a new one after a reconnect, say),
like a carrier NAT keeping its mapping; `rebind()` changes it (a NAT that timed out).

Faults are decided per datagram and per direction by a `random.Random` seeded from `seed` (one per
direction), drawing the same number of values for every datagram: for a given seed the n-th
datagram of a direction always gets the same fate. In what order datagrams meet those fates still
depends on timing (retransmissions, DTLS), so whole runs are reproducible in their statistics, not
byte for byte.

- loss: the datagram is dropped;
- duplicate: it is sent twice (the copy after a random delay within `delay_ms`);
- reorder: it is held back for a random delay within `delay_ms`, so later ones overtake it.

Bounded: at most `max_pending` datagrams wait for a delayed send (more are dropped and counted as
`overflow`), datagrams are at most 65535 bytes, the trace keeps the last `trace_size` entries.
Loopback only: the proxy binds 127.0.0.1 and refuses a non-loopback upstream.
"""

from __future__ import annotations

import heapq
import ipaddress
import random
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Optional

LOOPBACK = "127.0.0.1"
UP, DOWN = "up", "down"  # client -> server, server -> client
MAX_DATAGRAM = 65535


@dataclass(frozen=True)
class Faults:
    """What happens to the datagrams of one direction (probabilities 0..1)."""

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay_ms: tuple[float, float] = (20.0, 300.0)  # hold time of a reordered datagram or a duplicate's copy

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within 0..1, not {value}")
        low, high = self.delay_ms
        if not 0.0 <= low <= high <= 10_000.0:
            raise ValueError(f"delay_ms must be 0 <= low <= high <= 10000, not {self.delay_ms}")


NONE = Faults()


@dataclass
class DirectionStats:
    received: int = 0  # datagrams that reached the proxy
    forwarded: int = 0  # datagrams sent on (copies included)
    dropped: int = 0  # lost on purpose (loss)
    blackholed: int = 0  # dropped during a blackout
    duplicated: int = 0
    reordered: int = 0
    overflow: int = 0  # dropped because max_pending datagrams were already waiting
    send_errors: int = 0


@dataclass(frozen=True)
class TraceEntry:
    time: float  # time.monotonic() at arrival
    direction: str  # UP or DOWN
    size: int
    fate: str  # "forwarded", "dropped", "blackholed", "overflow"; "+dup", "+reorder" appended


@dataclass(order=True)
class _Pending:
    due: float
    seq: int
    direction: str = field(compare=False)
    data: bytes = field(compare=False)


class FaultProxy:
    def __init__(
        self,
        upstream: tuple[str, int],
        seed: int,
        up: Faults = NONE,
        down: Faults = NONE,
        name: str = "proxy",
        listen_port: int = 0,
        max_pending: int = 256,
        trace_size: int = 20_000,
    ):
        host, port = upstream
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"{name}: upstream {host} is not a loopback address (loopback only)")
        self.name = name
        self.seed = seed
        self.upstream = (host, int(port))
        self.max_pending = max_pending
        self._faults = {UP: up, DOWN: down}
        # One generator per direction, so that the fates of one direction do not depend on how
        # many datagrams the other one carried.
        self._rng = {UP: random.Random(f"{seed}/{UP}"), DOWN: random.Random(f"{seed}/{DOWN}")}
        self.stats = {UP: DirectionStats(), DOWN: DirectionStats()}
        self.trace: deque[TraceEntry] = deque(maxlen=trace_size)
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self._seq = 0
        self._blackout_until = 0.0
        self._client: Optional[tuple[str, int]] = None
        self._front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._front.bind((LOOPBACK, listen_port))
        self._front.setblocking(False)
        self._port = self._front.getsockname()[1]
        self._upstream_sock = self._new_upstream_socket()
        self._upstream_port = self._upstream_sock.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._stopping = False
        self._thread: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ control

    @property
    def port(self) -> int:
        return self._port

    @property
    def upstream_address(self) -> str:
        """The address the server sees for the client ("127.0.0.1:<port>")."""
        with self._lock:
            return f"{LOOPBACK}:{self._upstream_port}"

    def uri(self, scheme: str = "coaps") -> str:
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._run, name=f"{self.name} {self.port}", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for sock in (self._front, self._upstream_sock, self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def set_faults(self, up: Optional[Faults] = None, down: Optional[Faults] = None) -> None:
        with self._lock:
            if up is not None:
                self._faults[UP] = up
            if down is not None:
                self._faults[DOWN] = down

    def blackout(self, seconds: float) -> None:
        """Drop every datagram, both ways, for `seconds` from now (what a server restart or a dead
        link looks like to the client); datagrams already delayed are dropped too."""
        with self._lock:
            self._blackout_until = max(self._blackout_until, time.monotonic() + seconds)
            self._pending.clear()

    def end_blackout(self) -> None:
        with self._lock:
            self._blackout_until = 0.0

    def rebind(self) -> str:
        """Forward from a new upstream socket: the server sees the client at a new address (a NAT
        mapping that timed out). Returns the new address."""
        new = self._new_upstream_socket()
        with self._lock:
            old, self._upstream_sock = self._upstream_sock, new
            self._upstream_port = new.getsockname()[1]
        self._wake()
        old.close()
        return self.upstream_address

    def snapshot(self) -> dict[str, DirectionStats]:
        with self._lock:
            return {d: DirectionStats(**vars(s)) for d, s in self.stats.items()}

    def arrivals(self, direction: str, since: float = 0.0) -> list[TraceEntry]:
        """Trace entries of datagrams of `direction` that reached the proxy at or after `since`
        (time.monotonic()), whatever their fate: what the client (UP) or the server (DOWN) sent."""
        with self._lock:
            return [t for t in self.trace if t.direction == direction and t.time >= since]

    def describe(self) -> str:
        stats = self.snapshot()
        return f"{self.name} (seed {self.seed}, :{self.port} -> {self.upstream[1]}): " + "; ".join(
            f"{d} {vars(s)}" for d, s in stats.items()
        )

    # ------------------------------------------------------------------ relay

    def _new_upstream_socket(self) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((LOOPBACK, 0))
        sock.setblocking(False)
        return sock

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def _run(self) -> None:
        while not self._stopping:
            with self._lock:
                upstream = self._upstream_sock
                due = self._pending[0].due if self._pending else None
            timeout = 0.5 if due is None else max(0.0, min(0.5, due - time.monotonic()))
            try:
                readable, _, _ = select.select([self._front, upstream, self._wake_r], [], [], timeout)
            except (OSError, ValueError):
                if self._stopping:
                    return
                continue  # a socket closed under us by rebind(): take the new one
            for sock in readable:
                if sock is self._wake_r:
                    try:
                        self._wake_r.recv(4096)
                    except OSError:
                        pass
                    continue
                direction = UP if sock is self._front else DOWN
                for _ in range(64):  # bounded batch per wake-up
                    try:
                        data, source = sock.recvfrom(MAX_DATAGRAM)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError:
                        break  # ICMP errors reported on the socket, or closed by rebind()
                    if direction == UP:
                        self._client = source
                    elif source != self.upstream:
                        continue  # only the server's datagrams go down
                    self._arrived(direction, data)
            self._send_due()

    def _arrived(self, direction: str, data: bytes) -> None:
        now = time.monotonic()
        with self._lock:
            stats = self.stats[direction]
            stats.received += 1
            faults = self._faults[direction]
            rng = self._rng[direction]
            # Always the same draws per datagram: the n-th datagram's fate depends on the seed only.
            lost = rng.random() < faults.loss
            duplicate = rng.random() < faults.duplicate
            reorder = rng.random() < faults.reorder
            delay = rng.uniform(*faults.delay_ms) / 1000.0
            copy_delay = rng.uniform(*faults.delay_ms) / 1000.0
            if now < self._blackout_until:
                stats.blackholed += 1
                self.trace.append(TraceEntry(now, direction, len(data), "blackholed"))
                return
            if lost:
                stats.dropped += 1
                self.trace.append(TraceEntry(now, direction, len(data), "dropped"))
                return
            fate = "forwarded"
            sends = [delay if reorder else 0.0]
            if reorder:
                stats.reordered += 1
                fate += "+reorder"
            if duplicate:
                stats.duplicated += 1
                sends.append(sends[0] + copy_delay)
                fate += "+dup"
            for offset in sends:
                if len(self._pending) >= self.max_pending:
                    stats.overflow += 1
                    fate = "overflow"
                    continue
                self._seq += 1
                heapq.heappush(self._pending, _Pending(now + offset, self._seq, direction, data))
            self.trace.append(TraceEntry(now, direction, len(data), fate))

    def _send_due(self) -> None:
        now = time.monotonic()
        while True:
            with self._lock:
                if not self._pending or self._pending[0].due > now:
                    return
                item = heapq.heappop(self._pending)
                upstream = self._upstream_sock
                client = self._client
                stats = self.stats[item.direction]
            try:
                if item.direction == UP:
                    upstream.sendto(item.data, self.upstream)
                elif client is not None:
                    self._front.sendto(item.data, client)
                else:
                    continue
                with self._lock:
                    stats.forwarded += 1
            except OSError:
                with self._lock:
                    stats.send_errors += 1
