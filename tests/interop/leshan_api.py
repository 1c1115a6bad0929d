"""REST clients for the two Leshan servers the interop tests run on loopback.

`LeshanServer` speaks the API of Leshan's LwM2M server demo (leshan-server-demo 2.0.0-M4, the one
Maven Central serves here): `/api/clients[/{ep}[/{path}]]`, `/api/security/clients`, and the
server-sent event stream `/api/event?ep=` (REGISTRATION, UPDATED, DEREGISTRATION, ...).
`LeshanBootstrapServer` speaks the API of `leshan/InteropBootstrapServer.java` (Leshan's bootstrap
library behind a front end shaped like the 2.x bootstrap demo): `/api/bootstrap/{ep}`,
`/api/security/clients`, `/api/event/history?ep=` (BSSESSION events).

The 2.0.0-M4 demo differs from the 2.x API in /work/shared/interop.md §3b in two places, both
handled here: security entries are `{"endpoint", "psk": {"identity", "key"}}` (not `"tls"`), and
JSON nodes have no `kind`/`type` (`{"id", "value"}` or `{"id", "values": {...}}`).
Nothing here retries or sleeps blindly: waits poll a condition until a deadline.
"""

from __future__ import annotations

import http.client
import json
import secrets
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import requests

HTTP_TIMEOUT_S = 10


def _quote(endpoint: str) -> str:
    return urllib.parse.quote(endpoint, safe="")


@dataclass
class ServerSentEvent:
    name: str
    data: Any
    received_at: float = field(default_factory=time.monotonic)


class EventStream:
    """A live `text/event-stream` subscription, collected in the background.

    Events are kept in arrival order; `wait_for` returns the first one (at or after index
    `after`) whose name matches and that satisfies `predicate`.
    """

    def __init__(self, host: str, port: int, path: str):
        self.events: list[ServerSentEvent] = []
        self._cond = threading.Condition()
        self._closed = False
        # A socket of our own (not http.client's connection, which lets go of it for a streamed
        # answer): close() shuts it down to end the blocked reader thread.
        self._sock = socket.create_connection((host, port), timeout=HTTP_TIMEOUT_S)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            "Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        self._sock.sendall(request.encode())
        response = http.client.HTTPResponse(self._sock)
        response.begin()
        if response.status != 200:
            self._sock.close()
            raise RuntimeError(f"event stream {path}: HTTP {response.status}")
        self._sock.settimeout(None)
        self._response = response
        self._thread = threading.Thread(target=self._read, name=f"sse {path}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        name, data = None, []
        try:
            while True:
                raw = self._response.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "":
                    if name is not None:
                        text = "\n".join(data)
                        try:
                            payload = json.loads(text)
                        except ValueError:
                            payload = text
                        with self._cond:
                            self.events.append(ServerSentEvent(name, payload))
                            self._cond.notify_all()
                    name, data = None, []
        except (OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def names(self) -> list[str]:
        with self._cond:
            return [e.name for e in self.events]

    def wait_for(
        self,
        name: str,
        timeout: float,
        predicate: Optional[Callable[[Any], bool]] = None,
        after: int = 0,
    ) -> ServerSentEvent:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if event.name == name and (predicate is None or predicate(event.data)):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    seen = [e.name for e in self.events]
                    why = "stream closed" if self._closed else f"timeout {timeout:.0f} s"
                    raise AssertionError(f"no {name} event ({why}); events seen: {seen}")
                self._cond.wait(remaining)

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=5)


class _Rest:
    def __init__(self, host: str, web_port: int):
        self.host = host
        self.web_port = web_port
        self.base = f"http://{host}:{web_port}/api"
        self.session = requests.Session()

    def _url(self, path: str) -> str:
        return self.base + path

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self._url(path), params=params or None, timeout=HTTP_TIMEOUT_S)

    def event_stream(self, endpoint: Optional[str] = None, path: str = "/api/event") -> EventStream:
        query = f"?ep={_quote(endpoint)}" if endpoint else ""
        return EventStream(self.host, self.web_port, path + query)


class LeshanServer(_Rest):
    """The LwM2M (device-management) server: registrations, reads, executes, DTLS credentials."""

    def registration(self, endpoint: str) -> Optional[dict]:
        """The registration of `endpoint`, or None when it is not registered."""
        response = self.get(f"/clients/{_quote(endpoint)}")
        if response.status_code in (400, 404):
            return None
        response.raise_for_status()
        return response.json()

    def registrations(self) -> list[dict]:
        response = self.get("/clients")
        response.raise_for_status()
        return response.json()

    def wait_for_registration(self, endpoint: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            registration = self.registration(endpoint)
            if registration is not None:
                return registration
            if time.monotonic() >= deadline:
                raise AssertionError(f"Leshan has no registration for {endpoint} after {timeout:.0f} s")
            time.sleep(0.2)

    def read(self, endpoint: str, path: str, content_format: str = "TLV", timeout_s: int = 5) -> dict:
        """LwM2M Read through Leshan; returns its JSON answer ({status, success, content, ...})."""
        response = self.session.get(
            self._url(f"/clients/{_quote(endpoint)}{path}"),
            params={"format": content_format, "timeout": timeout_s},
            timeout=timeout_s + HTTP_TIMEOUT_S,
        )
        if response.status_code != 200:
            raise AssertionError(f"Read {path} ({content_format}): HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def execute(self, endpoint: str, path: str, arguments: str = "", timeout_s: int = 5) -> dict:
        response = self.session.post(
            self._url(f"/clients/{_quote(endpoint)}{path}"),
            params={"timeout": timeout_s},
            data=arguments.encode(),
            headers={"Content-Type": "text/plain"},
            timeout=timeout_s + HTTP_TIMEOUT_S,
        )
        if response.status_code == 504:  # Leshan got no answer within timeout_s
            return {"status": "NO ANSWER (HTTP 504)", "success": False, "failure": True}
        if response.status_code != 200:
            raise AssertionError(f"Execute {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def add_psk(self, endpoint: str, identity: str, key_hex: str) -> None:
        response = self.session.put(
            self._url("/security/clients"),
            json={"endpoint": endpoint, "psk": {"identity": identity, "key": key_hex}},
            timeout=HTTP_TIMEOUT_S,
        )
        if response.status_code != 200:
            raise AssertionError(f"LwM2M server refused PSK for {endpoint}: HTTP {response.status_code} {response.text}")

    def remove_psk(self, endpoint: str) -> None:
        self.session.delete(self._url(f"/security/clients/{_quote(endpoint)}"), timeout=HTTP_TIMEOUT_S)


class LeshanBootstrapServer(_Rest):
    """The bootstrap server: per-endpoint bootstrap configs, bootstrap PSKs, session log."""

    def add_psk(self, endpoint: str, identity: str, key_hex: str) -> None:
        response = self.session.put(
            self._url("/security/clients"),
            json={"endpoint": endpoint, "tls": {"mode": "psk", "details": {"identity": identity, "key": key_hex}}},
            timeout=HTTP_TIMEOUT_S,
        )
        if response.status_code != 200:
            raise AssertionError(f"bootstrap server refused PSK for {endpoint}: HTTP {response.status_code} {response.text}")

    def set_config(self, endpoint: str, config: dict) -> None:
        response = self.session.post(
            self._url(f"/bootstrap/{_quote(endpoint)}"), json=config, timeout=HTTP_TIMEOUT_S
        )
        if response.status_code != 200:
            raise AssertionError(f"bootstrap server refused config for {endpoint}: HTTP {response.status_code} {response.text}")

    def remove_config(self, endpoint: str) -> None:
        self.session.delete(self._url(f"/bootstrap/{_quote(endpoint)}"), timeout=HTTP_TIMEOUT_S)

    def configs(self) -> dict:
        response = self.get("/bootstrap")
        response.raise_for_status()
        return response.json()

    def session_events(self, endpoint: str) -> list[dict]:
        """Every BSSESSION event for `endpoint` since the server started ({name, endpoint, time, message})."""
        response = self.get("/event/history", ep=endpoint)
        response.raise_for_status()
        return response.json()

    def session_event_names(self, endpoint: str) -> list[str]:
        return [e["name"] for e in self.session_events(endpoint)]

    def wait_for_session_event(self, endpoint: str, name: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.session_events(endpoint):
                if event["name"] == name:
                    return event
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"bootstrap server: no '{name}' event for {endpoint} after {timeout:.0f} s; "
                    f"saw {self.session_event_names(endpoint)}"
                )
            time.sleep(0.2)


def bootstrap_config(endpoint: str, dm_server_uri: str, dm_psk_hex: str, lifetime: int) -> dict:
    """The bootstrap config the tests provision (LwM2M 1.0 TS §5.2.7.1 objects /0 and /1).

    Deletes /0 and /1 (the client keeps its bootstrap-server account, TS §5.2.7.5), then writes
    Server instance 0 (short id 1, `lifetime`, binding U) and Security instance 1 for the DM
    server (PSK mode: identity = endpoint bytes, secret key = PSK bytes, short server id 1).
    """
    return {
        "toDelete": ["/0", "/1"],
        "servers": {
            "0": {
                "shortId": 1,
                "lifetime": lifetime,
                "defaultMinPeriod": 1,
                "notifIfDisabled": False,
                "binding": "U",
            }
        },
        "security": {
            "1": {
                "uri": dm_server_uri,
                "bootstrapServer": False,
                "securityMode": "PSK",
                "publicKeyOrId": list(endpoint.encode()),
                "serverPublicKey": [],
                "secretKey": list(bytes.fromhex(dm_psk_hex)),
                "serverId": 1,
            }
        },
        "acls": {},
    }


def random_imei() -> str:
    """15 random digits (a test device's IMEI; its endpoint is urn:imei:<IMEI>)."""
    return "35" + "".join(secrets.choice("0123456789") for _ in range(13))


def random_psk_hex() -> str:
    """A fresh 16-byte PSK as the hex string Leshan and the Kconfig options take."""
    return secrets.token_hex(16)


def node_values(content: dict) -> dict[int, Any]:
    """Resource id -> value (single) or {instance id: value} (multiple) of an object-instance node.

    Accepts the 2.0.0-M4 shape ({"id", "value"} / {"id", "values"}) and the later one with "kind".
    """
    values: dict[int, Any] = {}
    for resource in content.get("resources", []):
        if "values" in resource:
            values[resource["id"]] = {int(k): v for k, v in resource["values"].items()}
        else:
            values[resource["id"]] = resource.get("value")
    return values
