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
Device-management calls (`read`, `write`, `write_attributes`, `discover`, `observe`, `create`,
`delete`, `execute`) return Leshan's JSON answer `{status: "CONTENT(205)", success, content | objectLinks
| location}`; `lwm2m_code()` turns its status into the CoAP code ("2.05"), and a client that did not
answer in time gives the pseudo status "NO ANSWER (HTTP 504)". The M4 demo's own cancel
(`cancel_observation`) only makes Leshan forget the observation, so the next notification gets a
CoAP Reset; the active cancel, a GET with Observe=1 (`cancel_observation_active`), is the one REST
call `leshan/InteropLeshanServer.java` adds to the unchanged demo. An `EventStream` records why it
ended (`error`) and when it last received anything (`assert_alive`: Jetty sends a heartbeat every
10 s), so that "no event came" cannot pass on a dead stream. The event stream's `COAPLOG` events show every CoAP message
between Leshan and the client (`coap_log`, `coap_options`), which is how the ETS tests check what went
over the wire (codes, options, payloads) and quote it as evidence.

Nothing here retries or sleeps blindly: waits poll a condition until a deadline.
"""

from __future__ import annotations

import http.client
import json
import re
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
        self.path = path
        self._cond = threading.Condition()
        self._closed = False
        self._closing = False  # close() was called: the end of the stream is ours, not an error
        self.error: Optional[str] = None  # why the stream ended, when it was not close()
        # Monotonic time of the last line (event or Jetty's 10 s heartbeat, an empty line) received.
        self.last_activity = time.monotonic()
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
                    if not self._closing:
                        self.error = "the server ended the stream"
                    break
                self.last_activity = time.monotonic()
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
        except (OSError, http.client.HTTPException, ValueError) as error:
            if not self._closing:
                self.error = f"{type(error).__name__}: {error}"
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    @property
    def alive(self) -> bool:
        with self._cond:
            return not self._closed

    def assert_alive(self, max_silence_s: float = 15.0) -> None:
        """The stream is still open and received something (an event or Jetty's heartbeat, every
        10 s) within `max_silence_s`: "no event came" then means none was sent, not a dead stream."""
        with self._cond:
            closed = self._closed
        if closed:
            raise AssertionError(f"event stream {self.path} ended: {self.error or 'closed'}")
        silent_for = time.monotonic() - self.last_activity
        if silent_for > max_silence_s:
            raise AssertionError(f"event stream {self.path}: nothing received for {silent_for:.0f} s (no heartbeat)")

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def names(self) -> list[str]:
        with self._cond:
            return [e.name for e in self.events]

    def since(self, after: int = 0) -> list[ServerSentEvent]:
        """A copy of the events from index `after` on."""
        with self._cond:
            return list(self.events[after:])

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
                    why = f"stream ended: {self.error or 'closed'}" if self._closed else f"timeout {timeout:.0f} s"
                    raise AssertionError(f"no {name} event ({why}); events seen: {seen}")
                self._cond.wait(remaining)

    def wait_for_any(self, names: tuple[str, ...], timeout: float, after: int = 0) -> ServerSentEvent:
        """The first event at or after index `after` whose name is one of `names`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if event.name in names:
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    why = f" (stream ended: {self.error or 'closed'})" if self._closed else ""
                    raise AssertionError(f"none of {names} within {timeout:.0f} s{why}; events seen: {self.names()}")
                self._cond.wait(remaining)

    def close(self) -> None:
        self._closing = True
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
        """The registration of `endpoint`, or None when it is not registered.

        M4 answers an unknown endpoint with HTTP 400 "no registered client with id '<ep>'"; any other
        error (another 400, a 404 from a wrong base URL, a 500) is not "not registered" and fails."""
        response = self.get(f"/clients/{_quote(endpoint)}")
        if response.status_code == 400 and response.text.strip() == f"no registered client with id '{endpoint}'":
            return None
        if response.status_code != 200:
            raise AssertionError(
                f"GET /clients/{endpoint}: HTTP {response.status_code} {response.text[:300]!r} (not the 'not registered' answer)"
            )
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

    def _operation(
        self,
        method: str,
        endpoint: str,
        path: str,
        what: str,
        params: Optional[dict] = None,
        timeout_s: int = 5,
        send_timeout: bool = True,
        **kwargs,
    ) -> dict:
        """One LwM2M operation through Leshan's REST API; its JSON answer.

        HTTP 504 (the client did not answer within `timeout_s`) becomes the pseudo status
        "NO ANSWER (HTTP 504)", so a test can assert on it like on any LwM2M answer; any other
        HTTP error (Leshan refused the request itself) fails the test with Leshan's reason.
        """
        query = {"timeout": timeout_s} if send_timeout else {}
        query.update(params or {})
        response = self.session.request(
            method,
            self._url(f"/clients/{_quote(endpoint)}{path}"),
            params=query,
            timeout=timeout_s + HTTP_TIMEOUT_S,
            **kwargs,
        )
        if response.status_code == 504:
            return {"status": "NO ANSWER (HTTP 504)", "success": False, "failure": True}
        if response.status_code != 200:
            raise AssertionError(f"{what} {path}: HTTP {response.status_code}: {response.text[:500]}")
        if not response.text:
            return {}
        return response.json()

    def read(self, endpoint: str, path: str, content_format: Optional[str] = "TLV", timeout_s: int = 5) -> dict:
        """LwM2M Read through Leshan; returns its JSON answer ({status, success, content, ...}).

        `content_format` None sends no Accept option (the client answers in its preferred format).
        """
        params = {"format": content_format} if content_format else {}
        return self._operation("GET", endpoint, path, f"Read ({content_format})", params, timeout_s)

    def write(
        self,
        endpoint: str,
        path: str,
        node: dict,
        content_format: str = "TLV",
        replace: bool = True,
        timeout_s: int = 5,
    ) -> dict:
        """LwM2M Write: PUT (replace) or, with `replace=False` on an instance, POST (partial update).

        `node` in the M4 shape: {"id", "value"} (single resource), {"id", "values": {"0": v}}
        (multiple) or {"id", "resources": [...]} (instance). Opaque values are hex strings.
        """
        params = {"format": content_format, "replace": "true" if replace else "false"}
        return self._operation("PUT", endpoint, path, f"Write ({content_format})", params, timeout_s, json=node)

    def write_attributes(self, endpoint: str, path: str, timeout_s: int = 5, **attributes) -> dict:
        """Write-Attributes (TS §5.4.4): `pmin=1, pmax=3`; a value of None unsets the attribute.

        M4 takes every query parameter of this call for an attribute, so no `timeout` is sent
        (Leshan's default, 5 s, applies)."""
        query = "&".join(name if value is None else f"{name}={value}" for name, value in attributes.items())
        return self._operation(
            "PUT", endpoint, f"{path}/attributes?{query}", "Write-Attributes", None, timeout_s, send_timeout=False
        )

    def discover(self, endpoint: str, path: str, timeout_s: int = 5) -> dict:
        """Discover (TS §5.4.2); the answer's `objectLinks` is [{url, attributes: {name: text}}]."""
        return self._operation("GET", endpoint, f"{path}/discover", "Discover", None, timeout_s)

    def observe(self, endpoint: str, path: str, content_format: Optional[str] = "TLV", timeout_s: int = 5) -> dict:
        """Observe (TS §5.5.1): the answer carries the first value; notifications arrive as events."""
        params = {"format": content_format} if content_format else {}
        return self._operation("POST", endpoint, f"{path}/observe", "Observe", params, timeout_s)

    def cancel_observation(self, endpoint: str, path: str) -> None:
        """Passive cancel (the demo's DELETE .../observe in 2.0.0-M4): Leshan forgets the observation,
        and the client's next notification is answered with a CoAP Reset (RFC 7641 §3.6)."""
        self._operation("DELETE", endpoint, f"{path}/observe", "Cancel observation")

    def cancel_observation_active(self, endpoint: str, path: str, timeout_s: int = 5) -> dict:
        """Active cancel (RFC 7641 §3.6): Leshan sends a GET with Observe=1 and the observation's token
        (its CancelObservationRequest), through leshan/InteropLeshanServer.java's
        DELETE /api/interop/clients/{ep}/{path}/observe, and keeps its observation. Returns
        {status: "CONTENT(205)", success, token (hex)}, or the pseudo status "NO ANSWER (HTTP 504)"."""
        response = self.session.delete(
            self._url(f"/interop/clients/{_quote(endpoint)}{path}/observe"),
            params={"timeout": timeout_s},
            timeout=timeout_s + HTTP_TIMEOUT_S,
        )
        if response.status_code == 504:
            return {"status": "NO ANSWER (HTTP 504)", "success": False, "failure": True}
        if response.status_code != 200:
            raise AssertionError(f"active cancel {path}: HTTP {response.status_code}: {response.text[:500]}")
        return response.json()

    def create(self, endpoint: str, object_path: str, instance: dict, content_format: str = "TLV", timeout_s: int = 5) -> dict:
        """Create (TS §5.4.6): POST on the object; the answer's `location` is "<o>/<i>"."""
        return self._operation(
            "POST", endpoint, object_path, f"Create ({content_format})", {"format": content_format}, timeout_s, json=instance
        )

    def delete(self, endpoint: str, path: str, timeout_s: int = 5) -> dict:
        """Delete (TS §5.4.7) of an object instance."""
        return self._operation("DELETE", endpoint, path, "Delete", None, timeout_s)

    def execute(self, endpoint: str, path: str, arguments: str = "", timeout_s: int = 5) -> dict:
        return self._operation(
            "POST",
            endpoint,
            path,
            "Execute",
            None,
            timeout_s,
            data=arguments.encode(),
            headers={"Content-Type": "text/plain"},
        )

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

    def remove_psk(self, endpoint: str) -> None:
        self.session.delete(self._url(f"/security/clients/{_quote(endpoint)}"), timeout=HTTP_TIMEOUT_S)

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


@dataclass
class ServerAccount:
    """One LwM2M server account the bootstrap server writes (Security + Server instance, TS §E.1, §E.2).

    None leaves a Server resource out of the Bootstrap-Write (the client keeps its own default).
    """

    uri: str
    psk_hex: str
    short_id: int = 1
    lifetime: int = 60
    default_pmin: Optional[int] = 1
    default_pmax: Optional[int] = None
    disable_timeout: Optional[int] = None
    notification_storing: bool = False
    identity: Optional[str] = None  # PSK identity; the endpoint name when None


def acl_entry(object_id: int, instance_id: int, rights: dict[int, int], owner: int) -> dict:
    """An Access Control instance (TS §E.3) for a bootstrap config: `rights` maps a short server id
    (0 = default) to R 1 | W 2 | E 4 | D 8 | C 16."""
    return {
        "objectId": object_id,
        "objectInstanceId": instance_id,
        "acls": {str(ssid): value for ssid, value in rights.items()},
        "AccessControlOwner": owner,
    }


def bootstrap_config_for(
    endpoint: str,
    accounts: list[ServerAccount],
    auto_security_id: bool = False,
    acls: Optional[list[dict]] = None,
) -> dict:
    """A bootstrap config with one Server instance (0, 1, ...) and one Security instance (1, 2, ...) per
    account, after deleting /0 and /1 (the client keeps its bootstrap-server account, TS §5.2.7.5),
    and the Access Control instances `acls` (acl_entry; needed with more than one server, TS §7.3).

    `auto_security_id` makes Leshan start with a Bootstrap-Discover on "/" (TS §5.2.7.1) to find the
    bootstrap server's Security instance and pick free instance ids around it.
    """
    servers: dict[str, dict] = {}
    security: dict[str, dict] = {}
    for index, account in enumerate(accounts):
        server: dict[str, Any] = {
            "shortId": account.short_id,
            "lifetime": account.lifetime,
            "notifIfDisabled": account.notification_storing,
            "binding": "U",
        }
        for name, value in (
            ("defaultMinPeriod", account.default_pmin),
            ("defaultMaxPeriod", account.default_pmax),
            ("disableTimeout", account.disable_timeout),
        ):
            if value is not None:
                server[name] = value
        servers[str(index)] = server
        security[str(index + 1)] = {
            "uri": account.uri,
            "bootstrapServer": False,
            "securityMode": "PSK",
            "publicKeyOrId": list((account.identity or endpoint).encode()),
            "serverPublicKey": [],
            "secretKey": list(bytes.fromhex(account.psk_hex)),
            "serverId": account.short_id,
        }
    config: dict[str, Any] = {
        "toDelete": ["/0", "/1"],
        "servers": servers,
        "security": security,
        "acls": {str(i): acl for i, acl in enumerate(acls or [])},
    }
    if auto_security_id:
        config["autoIdForSecurityObject"] = True
    return config


def bootstrap_config(endpoint: str, dm_server_uri: str, dm_psk_hex: str, lifetime: int) -> dict:
    """The bootstrap config the tests provision (LwM2M 1.0 TS §5.2.7.1 objects /0 and /1).

    Deletes /0 and /1 (the client keeps its bootstrap-server account, TS §5.2.7.5), then writes
    Server instance 0 (short id 1, `lifetime`, binding U) and Security instance 1 for the DM
    server (PSK mode: identity = endpoint bytes, secret key = PSK bytes, short server id 1).
    """
    return bootstrap_config_for(endpoint, [ServerAccount(uri=dm_server_uri, psk_hex=dm_psk_hex, lifetime=lifetime)])


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


def lwm2m_code(answer: dict) -> str:
    """The CoAP code of a Leshan answer: "CONTENT(205)" -> "2.05"; other statuses unchanged."""
    status = answer.get("status", "")
    match = re.search(r"\((\d)(\d\d)\)$", status)
    return f"{match.group(1)}.{match.group(2)}" if match else status


def single_value(answer: dict) -> Any:
    """The value of a single-resource Read/Observe answer."""
    content = answer.get("content") or {}
    if "value" not in content:
        raise AssertionError(f"not a single resource value: {answer}")
    return content["value"]


def link_attributes(answer: dict) -> dict[str, dict[str, str]]:
    """Discover answer -> {url: {attribute: text}} (attribute values as the client sent them)."""
    return {link["url"]: dict(link.get("attributes") or {}) for link in answer.get("objectLinks") or []}


# ---------------------------------------------------------------------------- CoAP log

_OPTION_SPLIT = re.compile(r"\s-\s(?=[A-Z][A-Za-z0-9-]*: )")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def coap_options(entry: dict) -> dict[str, list[str]]:
    """Options of a COAPLOG entry: 'Uri-Path: "rd", "x" - Observe: 1' -> {"Uri-Path": ["rd", "x"], "Observe": ["1"]}."""
    options: dict[str, list[str]] = {}
    text = entry.get("options") or ""
    for part in _OPTION_SPLIT.split(text) if text else []:
        name, _, rest = part.partition(": ")
        quoted = _QUOTED.findall(rest)
        options.setdefault(name.strip(), []).extend(quoted if quoted else [rest.strip()])
    return options


def coap_log(stream: EventStream, after: int = 0) -> list[dict]:
    """Every COAPLOG entry of the stream from event index `after` on: {incoming, type, code, mId, token,
    options, payload?, timestamp (ms)}; `incoming` is Leshan's view: true = sent by the client."""
    return [e.data for e in stream.since(after) if e.name == "COAPLOG" and isinstance(e.data, dict)]


def describe_coap(entry: dict) -> str:
    """One CoAP message, for assertion messages and reports."""
    direction = "client -> Leshan" if entry.get("incoming") else "Leshan -> client"
    payload = entry.get("payload")
    return (
        f"{direction} {entry.get('type')} {entry.get('code')} mid={entry.get('mId')} token={entry.get('token')} "
        f"[{entry.get('options', '')}]" + (f" payload={payload!r}" if payload is not None else "")
    )


def describe_exchange(stream: EventStream, after: int = 0) -> str:
    return "\n".join(describe_coap(e) for e in coap_log(stream, after)) or "(no CoAP messages)"


def coap_payload_bytes(entry: dict) -> bytes:
    """The payload of a COAPLOG entry: Leshan prints binary payloads as "Hex:..." and text as text."""
    payload = entry.get("payload") or ""
    if payload.startswith("Hex:"):
        return bytes.fromhex(payload[4:])
    return payload.encode()


def response_to(stream: EventStream, request: dict, timeout: float = 5.0) -> dict:
    """The COAPLOG answer to a logged request: same token, other direction, a response code, and
    either piggybacked (an ACK with the request's Message ID) or a separate response logged no earlier
    than the request. (The token alone is not enough: an observation's token is on its Observe
    response and notifications too.)"""

    def answers(data: Any) -> bool:
        if not (
            isinstance(data, dict)
            and data.get("token") == request.get("token")
            and data.get("incoming") != request.get("incoming")
            and re.fullmatch(r"\d\.\d\d", str(data.get("code", ""))) is not None
        ):
            return False
        if data.get("type") == "ACK":
            return data.get("mId") == request.get("mId")
        return data.get("timestamp", 0) >= request.get("timestamp", 0)

    return stream.wait_for("COAPLOG", timeout, answers).data


def assert_code(answer: dict, expected: str, what: str, stream: Optional[EventStream] = None, after: int = 0) -> dict:
    """`answer` (a Leshan answer) carries CoAP code `expected` ("2.05"); else fail with the answer and,
    when `stream` is given, the CoAP messages logged since event index `after` (the evidence)."""
    got = lwm2m_code(answer)
    if got != expected:
        evidence = f"\nCoAP exchange:\n{describe_exchange(stream, after)}" if stream is not None else ""
        raise AssertionError(f"{what}: expected {expected}, Leshan got {got}: {answer}{evidence}")
    return answer
