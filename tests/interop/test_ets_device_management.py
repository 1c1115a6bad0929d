"""OMA-ETS-LightweightM2M-V1_0 interoperability cases, device management and service enablement, against Leshan.

Cases: int-201..204 (Read in text, opaque, TLV, JSON), int-205/210/215/220 (Write in text, opaque,
TLV, JSON), int-221 (Security object refused, 1.1 numbering), int-256 (Write to a read-only
resource, 1.1 numbering), int-260 (Discover + Write-Attributes), int-261 (Write-Attributes on a
multiple resource), int-270/271/290 (Create / Create Multiple Resource Instance / Delete), int-551
(Server object access rights). The reboot, int-241, runs with int-655 in test_ets_device_object.py.

All but int-271 (which needs an Access Control instance, so a device provisioned with one) share one
registered device; each test leaves it as it found it (attributes unset, instances deleted, values
restored). Pass criteria are the ETS's (OMA-ETS-LightweightM2M-V1_0_1
§6.1.3, §6.1.6.2), checked on Leshan's answers and on the CoAP messages of its COAPLOG stream.
Spec: OMA-TS-LightweightM2M-V1_0_2 §5.4 (device management), §5.1 / §5.4.4 (attributes), §6.4
(data formats), §E.2 / §E.4 (Server / Device objects).
"""

from __future__ import annotations

import json

import pytest

from conftest import start_registered
from leshan_api import (
    acl_entry,
    assert_code,
    coap_log,
    coap_options,
    coap_payload_bytes,
    describe_exchange,
    link_attributes,
    node_values,
)

FW_VERSION = "mfw_nrf9160_1.2.3-ets"
CF_TEXT = "text/plain"
CF_OPAQUE = "application/octet-stream"
CF_TLV = "application/vnd.oma.lwm2m+tlv"
CF_JSON = "application/vnd.oma.lwm2m+json"

# Server object resources a server may write (Appendix E.2: 1, 2, 3, 5, 6, 7).
SERVER_WRITABLE = (1, 2, 3, 5, 6, 7)


@pytest.fixture(scope="module")
def device(module_carrier_device, module_provision):
    return start_registered(
        module_carrier_device, module_provision, lifetime=300, extra_env={"LWM2M_HOST_FW_VERSION": FW_VERSION}
    )


def exchange(device, mark: int, code: str, path: list[str]) -> tuple[dict, dict]:
    """The request Leshan sent with CoAP `code` to `path` after event index `mark`, and its answer."""
    log = coap_log(device.coap_events, mark)
    for index, entry in enumerate(log):
        if not entry.get("incoming") and entry.get("code") == code and coap_options(entry).get("Uri-Path") == path:
            for answer in log[index + 1 :]:
                if answer.get("token") == entry.get("token") and answer.get("incoming"):
                    return entry, answer
            device.coap_events.wait_for(
                "COAPLOG", 5, lambda d: isinstance(d, dict) and d.get("token") == entry.get("token") and d.get("incoming")
            )
            return exchange(device, mark, code, path)
    raise AssertionError(f"no {code} /{'/'.join(path)} in the CoAP log:\n{describe_exchange(device.coap_events, mark)}")


def server_instance(leshan, device, content_format: str = "TLV") -> dict[int, object]:
    answer = assert_code(leshan.server.read(device.endpoint, "/1/0", content_format), "2.05", "Read /1/0")
    return node_values(answer["content"])


def instance_node(values: dict[int, object], resources=SERVER_WRITABLE) -> dict:
    return {"id": 0, "resources": [{"id": r, "value": values[r]} for r in resources if r in values]}


def tlv_records(data: bytes) -> list[tuple[int, int, bytes]]:
    """OMA-TLV (TS §6.4.3) records: (type bits 7-6, identifier, value); raises on a malformed header."""
    records = []
    offset = 0
    while offset < len(data):
        header = data[offset]
        kind = header >> 6
        id_size = 2 if header & 0x20 else 1
        length_size = (header >> 3) & 0x03
        position = offset + 1
        identifier = int.from_bytes(data[position : position + id_size], "big")
        position += id_size
        if length_size == 0:
            length = header & 0x07
        else:
            length = int.from_bytes(data[position : position + length_size], "big")
            position += length_size
        value = data[position : position + length]
        if len(value) != length:
            raise AssertionError(f"TLV record at {offset} runs past the payload: {data.hex()}")
        records.append((kind, identifier, value))
        offset = position + length
    return records


TLV_INSTANCE, TLV_RESOURCE_INSTANCE, TLV_MULTIPLE_RESOURCE, TLV_RESOURCE = 0b00, 0b01, 0b10, 0b11


# ------------------------------------------------------------------------------------------- reads


def test_int_201_query_basic_information_plain_text(leshan, device):
    """int-201: GETs on /3/0/0, /3/0/1, /3/0/2 with Accept text/plain -> 2.05, text/plain, the values."""
    expected = {0: "Nordic Semiconductor ASA", 1: "nRF9160", 2: device.imei}
    for resource, value in expected.items():
        mark = device.coap_events.mark()
        answer = assert_code(
            leshan.server.read(device.endpoint, f"/3/0/{resource}", "TEXT"),
            "2.05",
            f"Read /3/0/{resource}",
            device.coap_events,
            mark,
        )
        assert answer["content"]["value"] == value
        request, response = exchange(device, mark, "GET", ["3", "0", str(resource)])
        assert coap_options(request).get("Accept") == [CF_TEXT], request
        assert coap_options(response).get("Content-Format") == [CF_TEXT], response
        assert coap_payload_bytes(response) == value.encode(), response


def test_int_202_query_basic_information_opaque(leshan, device):
    """int-202 (not applicable: no readable Opaque resource in objects 1, 3, 4, 5, 7; Package /5/0/0
    is write-only, the Security object is closed to servers). What remains checkable: asking for
    application/octet-stream on a String resource is refused with 4.06 (RFC 7252 §5.10.4), not
    answered in another format."""
    mark = device.coap_events.mark()
    answer = leshan.server.read(device.endpoint, "/3/0/0", "OPAQUE")
    assert_code(answer, "4.06", "Read /3/0/0 Accept opaque", device.coap_events, mark)
    request, _ = exchange(device, mark, "GET", ["3", "0", "0"])
    assert coap_options(request).get("Accept") == [CF_OPAQUE], request


def test_int_203_query_basic_information_tlv(leshan, device):
    """int-203: GET /3/0 Accept TLV -> 2.05 in TLV; an Object Instance record (bits 7-6 = 00) holding
    Resource records, or Resource records directly; single resources 11, multiple 10 with Resource
    Instance records 01; manufacturer, model, serial, firmware version, error code, binding as set."""
    mark = device.coap_events.mark()
    answer = assert_code(leshan.server.read(device.endpoint, "/3/0", "TLV"), "2.05", "Read /3/0", device.coap_events, mark)
    values = node_values(answer["content"])
    assert values[0] == "Nordic Semiconductor ASA"
    assert values[1] == "nRF9160"
    assert values[2] == device.imei
    assert values[3] == FW_VERSION
    assert values[11] == {0: 1}, "error code: low charge, as the sample sets"
    assert "U" in values[16], values[16]

    _, response = exchange(device, mark, "GET", ["3", "0"])
    assert coap_options(response).get("Content-Format") == [CF_TLV], response
    records = tlv_records(coap_payload_bytes(response))
    if len(records) == 1 and records[0][0] == TLV_INSTANCE:
        assert records[0][1] == 0, records
        records = tlv_records(records[0][2])
    by_id = {identifier: (kind, value) for kind, identifier, value in records}
    for single in (0, 1, 2, 3, 9, 16):
        assert by_id[single][0] == TLV_RESOURCE, f"/3/0/{single}: type bits {by_id[single][0]:02b}"
    assert by_id[0][1] == b"Nordic Semiconductor ASA"
    assert by_id[2][1] == device.imei.encode()
    for multiple in (6, 7, 8, 11):
        kind, value = by_id[multiple]
        assert kind == TLV_MULTIPLE_RESOURCE, f"/3/0/{multiple}: type bits {kind:02b}"
        inner = tlv_records(value)
        assert inner and all(k == TLV_RESOURCE_INSTANCE for k, _, _ in inner), inner
    assert [(i, int.from_bytes(v, "big", signed=True)) for _, i, v in tlv_records(by_id[11][1])] == [(0, 1)]


def test_int_204_query_basic_information_json(leshan, device):
    """int-204: GET /3/0 Accept JSON (11543) -> 2.05 in OMA LwM2M JSON with the same values."""
    mark = device.coap_events.mark()
    answer = assert_code(leshan.server.read(device.endpoint, "/3/0", "JSON"), "2.05", "Read /3/0", device.coap_events, mark)
    values = node_values(answer["content"])
    assert values[0] == "Nordic Semiconductor ASA"
    assert values[1] == "nRF9160"
    assert values[2] == device.imei
    assert values[3] == FW_VERSION
    assert values[11] == {0: 1}
    assert "U" in values[16]

    request, response = exchange(device, mark, "GET", ["3", "0"])
    assert coap_options(request).get("Accept") == [CF_JSON], request
    assert coap_options(response).get("Content-Format") == [CF_JSON], response
    document = json.loads(coap_payload_bytes(response))
    # TS 1.0.2 §6.4.4: each entry's name is the base name "bn" followed by its "n".
    names = {(document.get("bn", "") + e.get("n", "")).removeprefix("/3/0/"): e for e in document["e"]}
    assert names["0"]["sv"] == "Nordic Semiconductor ASA", document
    assert names["2"]["sv"] == device.imei, document
    assert names["11/0"]["v"] == 1, document
    assert "U" in names["16"]["sv"], document


# ------------------------------------------------------------------------------------------- writes


def test_int_205_setting_basic_information_plain_text(leshan, device):
    """int-205: PUTs in text/plain of Default Minimum Period 101, Default Maximum Period 1010,
    Disable Timeout 2000 on /1/0 (2.04 each), a TLV read shows them; then the same with the initial
    values, and the read shows the initial configuration again."""
    initial = server_instance(leshan, device)
    for values in ({2: 101, 3: 1010, 5: 2000}, {r: initial[r] for r in (2, 3, 5)}):
        for resource, value in values.items():
            mark = device.coap_events.mark()
            written = leshan.server.write(device.endpoint, f"/1/0/{resource}", {"id": resource, "value": value}, "TEXT")
            assert_code(written, "2.04", f"Write /1/0/{resource} = {value}", device.coap_events, mark)
            request, _ = exchange(device, mark, "PUT", ["1", "0", str(resource)])
            assert coap_options(request).get("Content-Format") == [CF_TEXT], request
            assert coap_payload_bytes(request) == str(value).encode(), request
        now = server_instance(leshan, device, "TLV")
        assert {r: now[r] for r in values} == values, now
    assert server_instance(leshan, device) == initial


def test_int_210_setting_basic_information_opaque(leshan, device):
    """int-210 (partial): a Write in application/octet-stream. The only writable Opaque resource is
    the Firmware Update Package /5/0/0, write-only; writing it the single byte 0x00 (a reset of the
    update state machine, ETS int-755 step 1) goes out as octet-stream with that byte -> 2.04.

    The read-back step is not expressible: /5/0/0 cannot be read, and the reset's effect, State
    /5/0/3 and Update Result /5/0/5 back at 0, cannot be told from nothing happening, because no
    server operation moves them off 0 on the host (no firmware download). They are read after the
    write only as a sanity check."""
    mark = device.coap_events.mark()
    written = leshan.server.write(device.endpoint, "/5/0/0", {"id": 0, "value": "00"}, "OPAQUE")
    assert_code(written, "2.04", "Write /5/0/0 = 00 (opaque)", device.coap_events, mark)
    request, _ = exchange(device, mark, "PUT", ["5", "0", "0"])
    assert coap_options(request).get("Content-Format") == [CF_OPAQUE], request
    assert coap_payload_bytes(request) == b"\x00", request
    for resource in (3, 5):
        answer = assert_code(leshan.server.read(device.endpoint, f"/5/0/{resource}", "TLV"), "2.05", f"Read /5/0/{resource}")
        assert answer["content"]["value"] == 0, answer


def setting_server_object(leshan, device, content_format: str, media_type: str) -> None:
    """int-215 / int-220: POST (partial update) of a set of values on /1/0, read back; PUT (replace)
    with the initial writable values, read back: the initial configuration again."""
    initial = server_instance(leshan, device, content_format)
    set_of_values = {2: 15, 3: 150, 5: 1200, 6: not initial[6], 7: "U"}

    mark = device.coap_events.mark()
    updated = leshan.server.write(device.endpoint, "/1/0", instance_node(set_of_values), content_format, replace=False)
    assert_code(updated, "2.04", f"Write (partial update) /1/0 {content_format}", device.coap_events, mark)
    request, _ = exchange(device, mark, "POST", ["1", "0"])
    assert coap_options(request).get("Content-Format") == [media_type], request
    now = server_instance(leshan, device, content_format)
    assert {r: now[r] for r in set_of_values} == set_of_values, now
    assert now[0] == initial[0] and now[1] == initial[1], "resources outside the partial update changed"

    mark = device.coap_events.mark()
    replaced = leshan.server.write(device.endpoint, "/1/0", instance_node(initial), content_format, replace=True)
    assert_code(replaced, "2.04", f"Write (replace) /1/0 {content_format}", device.coap_events, mark)
    request, _ = exchange(device, mark, "PUT", ["1", "0"])
    assert coap_options(request).get("Content-Format") == [media_type], request
    assert server_instance(leshan, device, content_format) == initial


def test_int_215_setting_basic_information_tlv(leshan, device):
    """int-215: Server object /1/0 written in TLV (11542): partial update, then replace."""
    setting_server_object(leshan, device, "TLV", CF_TLV)


def test_int_220_setting_basic_information_json(leshan, device):
    """int-220: Server object /1/0 written in JSON (11543): partial update, then replace."""
    setting_server_object(leshan, device, "JSON", CF_JSON)


def test_int_221_operations_on_security_object_refused(leshan, device):
    """int-221 (1.1 numbering; TS 1.0.2 §5.4: the Security object is not accessible to LwM2M
    servers): Read, Write, Write-Attributes, Discover, Create, Delete and Execute on /0 -> 4.01."""
    endpoint = device.endpoint
    attempts = {
        "Read /0": lambda: leshan.server.read(endpoint, "/0", "TLV"),
        "Read /0/0": lambda: leshan.server.read(endpoint, "/0/0", "TLV"),
        "Write /0/0/0": lambda: leshan.server.write(endpoint, "/0/0/0", {"id": 0, "value": "coaps://evil"}, "TEXT"),
        "Write-Attributes /0": lambda: leshan.server.write_attributes(endpoint, "/0", pmin=10),
        "Discover /0": lambda: leshan.server.discover(endpoint, "/0"),
        "Create /0": lambda: leshan.server.create(endpoint, "/0", {"id": 7, "resources": [{"id": 0, "value": "coap://x"}]}),
        "Delete /0/0": lambda: leshan.server.delete(endpoint, "/0/0"),
        "Execute /0/0/0": lambda: leshan.server.execute(endpoint, "/0/0/0"),
    }
    for what, attempt in attempts.items():
        mark = device.coap_events.mark()
        assert_code(attempt(), "4.01", what, device.coap_events, mark)


def test_int_256_write_to_read_only_resource_fails(leshan, device):
    """int-256 (1.1 numbering): Write on read-only resources (Manufacturer /3/0/0, Short Server ID
    /1/0/0) -> 4.05 Method Not Allowed, value unchanged."""
    for path, value in (("/3/0/0", "Rogue Inc."), ("/1/0/0", 77)):
        mark = device.coap_events.mark()
        answer = leshan.server.write(device.endpoint, path, {"id": int(path.rsplit("/", 1)[1]), "value": value}, "TEXT")
        assert_code(answer, "4.05", f"Write {path}", device.coap_events, mark)
    assert leshan.server.read(device.endpoint, "/3/0/0", "TEXT")["content"]["value"] == "Nordic Semiconductor ASA"
    assert leshan.server.read(device.endpoint, "/1/0/0", "TEXT")["content"]["value"] == 1


def test_int_551_server_object_access_rights(leshan, device):
    """int-551 (ETS: same scope as int-215, which runs above): the access rights of Appendix E.2 on
    /1/0: every R resource reads 2.05, the E resources refuse Read (4.05), the R-only Short Server
    ID refuses Write (4.05), a non-executable resource refuses Execute (4.05)."""
    for resource in (0, 1, 2, 3, 5, 6, 7):
        assert_code(leshan.server.read(device.endpoint, f"/1/0/{resource}", "TEXT"), "2.05", f"Read /1/0/{resource}")
    for resource in (4, 8):
        assert_code(leshan.server.read(device.endpoint, f"/1/0/{resource}", "TEXT"), "4.05", f"Read /1/0/{resource}")
    assert_code(leshan.server.write(device.endpoint, "/1/0/0", {"id": 0, "value": 9}, "TEXT"), "4.05", "Write /1/0/0")
    assert_code(leshan.server.execute(device.endpoint, "/1/0/1"), "4.05", "Execute /1/0/1")


# ------------------------------------------------------------------------------------------- discover


def unset_attributes(leshan, device, *paths: str) -> None:
    for path in paths:
        leshan.server.write_attributes(device.endpoint, path, pmin=None, pmax=None)
    leshan.server.write_attributes(device.endpoint, "/3/0/7", lt=None, gt=None, st=None)


def test_int_260_discover_command(leshan, device):
    """int-260: Discover /3 (2.05: the object and its resources, dim=2 on the power-source resources);
    Write-Attributes pmin=10&pmax=200 on /3/0 (2.04) shows on /3/0; lt=1&gt=6&st=1 on /3/0/7
    (2.04) shows on /3/0/7; Discover /3/0/7 gives the resource with its own and the inherited
    attributes: </3/0/7>;pmin=10;pmax=200;dim=2;lt=1;gt=6;st=1."""
    endpoint = device.endpoint
    try:
        # Step 1
        first = link_attributes(assert_code(leshan.server.discover(endpoint, "/3"), "2.05", "Discover /3"))
        required = ["/3", "/3/0/1", "/3/0/2", "/3/0/3", "/3/0/4", "/3/0/6", "/3/0/7", "/3/0/8", "/3/0/9", "/3/0/11", "/3/0/16"]
        assert all(url in first for url in required), sorted(first)
        for url in ("/3/0/6", "/3/0/7", "/3/0/8"):
            assert first[url] == {"dim": "2"}, (url, first[url])
        assert not [u for u, a in first.items() if set(a) - {"dim"}], f"attributes before any Write-Attributes: {first}"
        # Steps 2-3
        mark = device.coap_events.mark()
        assert_code(leshan.server.write_attributes(endpoint, "/3/0", pmin=10, pmax=200), "2.04", "Write-Attributes /3/0", device.coap_events, mark)
        third = link_attributes(assert_code(leshan.server.discover(endpoint, "/3"), "2.05", "Discover /3"))
        assert third["/3/0"] == {"pmin": "10", "pmax": "200"}, third.get("/3/0")
        assert third["/3/0/7"] == {"dim": "2"}, third["/3/0/7"]
        # Steps 4-5
        mark = device.coap_events.mark()
        assert_code(leshan.server.write_attributes(endpoint, "/3/0/7", lt=1, gt=6, st=1), "2.04", "Write-Attributes /3/0/7", device.coap_events, mark)
        fifth = link_attributes(assert_code(leshan.server.discover(endpoint, "/3"), "2.05", "Discover /3"))
        assert fifth["/3/0"] == {"pmin": "10", "pmax": "200"}, fifth["/3/0"]
        assert fifth["/3/0/7"] == {"dim": "2", "lt": "1", "gt": "6", "st": "1"}, fifth["/3/0/7"]
        assert {u: a for u, a in fifth.items() if u not in ("/3/0", "/3/0/7")} == {
            u: a for u, a in first.items() if u not in ("/3/0", "/3/0/7")
        }
        # Step 6
        mark = device.coap_events.mark()
        sixth_answer = assert_code(leshan.server.discover(endpoint, "/3/0/7"), "2.05", "Discover /3/0/7", device.coap_events, mark)
        sixth = link_attributes(sixth_answer)
        assert list(sixth) == ["/3/0/7"], sixth
        expected = {"pmin": "10", "pmax": "200", "dim": "2", "lt": "1", "gt": "6", "st": "1"}
        assert sixth["/3/0/7"] == expected, (
            f"Discover /3/0/7 must list the attributes inherited from /3/0 too (TS 1.0.2 §5.4.2, ETS int-260 "
            f"step 6): got {sixth['/3/0/7']}, expected {expected}\nCoAP exchange:\n{describe_exchange(device.coap_events, mark)}"
        )
    finally:
        unset_attributes(leshan, device, "/3/0")


def test_int_261_write_attributes_on_multiple_resource(leshan, device):
    """int-261 (1.1 numbering): Write-Attributes pmin/pmax on the multiple resource Available Power
    Sources /3/0/6 (2.04); Discover /3/0/6 shows them with dim=2; an Observe of /3/0/6 is answered
    with both instances and notifies again within pmax.

    Not expressible with Leshan 2.0.0-M4: Write-Attributes on a Resource Instance (/3/0/6/0) — its
    REST API refuses the path ("not yet implemented"); LwM2M 1.0 has no attributes at that level,
    and the client's refusal (4.00) is covered by observe::attributes::tests::refuses_bad_requests.
    """
    endpoint = device.endpoint
    try:
        assert_code(leshan.server.write_attributes(endpoint, "/3/0/6", pmin=1, pmax=2), "2.04", "Write-Attributes /3/0/6")
        found = link_attributes(assert_code(leshan.server.discover(endpoint, "/3/0/6"), "2.05", "Discover /3/0/6"))
        assert found == {"/3/0/6": {"dim": "2", "pmin": "1", "pmax": "2"}}, found
        mark = device.coap_events.mark()
        observed = assert_code(leshan.server.observe(endpoint, "/3/0/6"), "2.05", "Observe /3/0/6", device.coap_events, mark)
        assert observed["content"]["values"] == {"0": 0, "1": 1}, observed
        notification = device.coap_events.wait_for("NOTIFICATION", 5, lambda d: d.get("res") == "/3/0/6", after=mark)
        assert notification.data["val"]["values"] == {"0": 0, "1": 1}, notification.data
    finally:
        leshan.server.cancel_observation(endpoint, "/3/0/6")
        leshan.server.write_attributes(endpoint, "/3/0/6", pmin=None, pmax=None)


# ------------------------------------------------------------------------------------------- create / delete

NEW_SERVER = {"resources": [{"id": 0, "value": 2}, {"id": 1, "value": 120}, {"id": 6, "value": False}, {"id": 7, "value": "U"}]}


def test_int_270_create_object_instance(leshan, device):
    """int-270 (ETS: as int-1630, on the client's creatable multi-instance object, Server /1):
    Discover /1; Create /1 in TLV -> 2.01 with location /1/1; Discover /1 lists /1/1; Read /1 in
    TLV returns both instances with the created values."""
    endpoint = device.endpoint
    before = link_attributes(assert_code(leshan.server.discover(endpoint, "/1"), "2.05", "Discover /1"))
    assert "/1/0" in before and "/1/1" not in before, sorted(before)
    mark = device.coap_events.mark()
    try:
        created = leshan.server.create(endpoint, "/1", dict(NEW_SERVER, id=1), "TLV")
        assert_code(created, "2.01", "Create /1", device.coap_events, mark)
        assert created.get("location", "").strip("/") == "1/1", created
        request, response = exchange(device, mark, "POST", ["1"])
        assert coap_options(request).get("Content-Format") == [CF_TLV], request
        assert coap_options(response).get("Location-Path") == ["1", "1"], response
        after = link_attributes(assert_code(leshan.server.discover(endpoint, "/1"), "2.05", "Discover /1"))
        assert "/1/1" in after and "/1/1/1" in after, sorted(after)
        read = assert_code(leshan.server.read(endpoint, "/1", "TLV"), "2.05", "Read /1")
        instances = {i["id"]: node_values(i) for i in read["content"]["instances"]}
        assert sorted(instances) == [0, 1], instances
        assert instances[1][0] == 2 and instances[1][1] == 120 and instances[1][7] == "U", instances[1]
    finally:
        leshan.server.delete(endpoint, "/1/1")


READ, WRITE, EXECUTE = 1, 2, 4


def test_int_271_create_multiple_resource_instance(leshan, carrier_device, provision):
    """int-271, on the one writable multiple resource of the client: ACL /2/x/2 of an Access Control
    instance (TS 1.0.2 §E.3; resource instance id = short server id, value = rights). The bootstrap
    server provisions /2/0 for the Device instance with one entry, {1: R|W|E}; with a single server
    that server may write it (TS §7.3). Write (partial update) /2/0 in TLV with the ACL resource
    holding a new instance 2 (rights R for server 2) next to the old one -> 2.04; Read /2/0/2 shows
    both instances; Write (replace) /2/0/2 with the old instance only -> 2.04; Read shows instance 2
    gone. Own device: the others run without an ACL instance."""
    device = start_registered(
        carrier_device, provision, lifetime=300, acls=[acl_entry(3, 0, {1: READ | WRITE | EXECUTE}, owner=1)]
    )
    endpoint = device.endpoint
    registration = leshan.server.registration(endpoint)
    assert "/2/0" in [link["url"] for link in registration["objectLinks"]], registration["objectLinks"]

    def acl_values() -> dict[str, int]:
        answer = assert_code(leshan.server.read(endpoint, "/2/0/2", "TLV"), "2.05", "Read /2/0/2")
        return answer["content"]["values"]

    instance = assert_code(leshan.server.read(endpoint, "/2/0", "TLV"), "2.05", "Read /2/0")
    values = node_values(instance["content"])
    assert values[0] == 3 and values[1] == 0 and values[3] == 1, values
    assert acl_values() == {"1": 7}

    mark = device.coap_events.mark()
    node = {"id": 0, "resources": [{"id": 2, "values": {"1": 7, "2": READ}}]}
    written = leshan.server.write(endpoint, "/2/0", node, "TLV", replace=False)
    assert_code(written, "2.04", "Write (partial update) /2/0 with a new ACL instance", device.coap_events, mark)
    request, _ = exchange(device, mark, "POST", ["2", "0"])
    records = tlv_records(coap_payload_bytes(request))
    assert [(kind, ident) for kind, ident, _ in records] == [(TLV_MULTIPLE_RESOURCE, 2)], records
    assert [(k, i) for k, i, _ in tlv_records(records[0][2])] == [(TLV_RESOURCE_INSTANCE, 1), (TLV_RESOURCE_INSTANCE, 2)]
    assert acl_values() == {"1": 7, "2": READ}, "the new resource instance was not created"

    mark = device.coap_events.mark()
    replaced = leshan.server.write(endpoint, "/2/0/2", {"id": 2, "values": {"1": 7}}, "TLV", replace=True)
    assert_code(replaced, "2.04", "Write (replace) /2/0/2", device.coap_events, mark)
    assert acl_values() == {"1": 7}, "Replace kept an instance it did not name"


def test_int_290_delete_object_instance(leshan, device):
    """int-290 (ETS: as int-1635): Create /1/2, Discover /1 lists it; Delete /1/2 -> 2.02; Discover
    /1 no longer lists it and Read /1/2 is 4.04. The Device instance /3/0 cannot be deleted (4.05)."""
    endpoint = device.endpoint
    created = assert_code(leshan.server.create(endpoint, "/1", dict(NEW_SERVER, id=2), "TLV"), "2.01", "Create /1/2")
    assert created.get("location", "").strip("/") == "1/2", created
    assert "/1/2" in link_attributes(leshan.server.discover(endpoint, "/1"))
    mark = device.coap_events.mark()
    assert_code(leshan.server.delete(endpoint, "/1/2"), "2.02", "Delete /1/2", device.coap_events, mark)
    exchange(device, mark, "DELETE", ["1", "2"])
    remaining = link_attributes(assert_code(leshan.server.discover(endpoint, "/1"), "2.05", "Discover /1"))
    assert not [u for u in remaining if u == "/1/2" or u.startswith("/1/2/")], sorted(remaining)
    assert "/1/0" in remaining
    assert_code(leshan.server.read(endpoint, "/1/2", "TLV"), "4.04", "Read /1/2 after Delete")
    assert_code(leshan.server.delete(endpoint, "/3/0"), "4.05", "Delete /3/0")
