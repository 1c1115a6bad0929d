"""Observe / Notify as Leshan saw it (COAPLOG), for the reporting cases of the ETS suites.

An observation here is the Observe GET Leshan sent (Observe: 0), the client's answer to it (the
*Observe response*: same token, first answer after the GET, piggybacked on the ACK or separate) and
the *notifications* that follow (later messages with that token). The response is never counted as
a notification; it is the start of the first period.

How periods are checked (TS 1.0.2 §5.1.2: pmin is the least, pmax the most time between two
notifications): the values observed here do not change while a test watches, so a client that
honours the attributes notifies every pmax, and `assert_every_pmax` wants each gap (response to
the 1st notification, then between notifications) within [pmax - EARLY_S, pmax + LATE_S]. The
tests pick periods that keep those windows apart from each other and from pmin (e.g. pmin 2 /
pmax 6 next to pmin 1 / pmax 3), so a client that notified at pmin, at another resource's pmax, or
at a default period, fails. Observe numbers (RFC 7641 §4.4) must rise strictly from the
response's on.

Where a value can change while watched (the Device instance holds the clock, which the client
samples every 30 s), `assert_periods` allows a change-driven notification earlier than pmax (never
before pmin) at most `changes` times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from leshan_api import assert_code, coap_log, coap_options, describe_coap, describe_exchange

# Slack for a loaded 2-core CI machine (client timers, Leshan's receipt): late by up to 2 s, early by
# 0.5 s.
LATE_S = 2.0
EARLY_S = 0.5


@dataclass
class Observation:
    path: str
    token: str
    request: dict  # Leshan's Observe GET (COAPLOG entry)
    response: dict  # the client's answer to it
    mark: int  # event index before the Observe

    @property
    def observe_number(self) -> int:
        return int(coap_options(self.response)["Observe"][0])


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def observe(server, device, path: str, content_format: str = "TLV", stream=None) -> tuple[dict, Observation]:
    """Observe `path` through `server` (2.05 asserted); Leshan's answer and the Observation as logged."""
    stream = stream or device.coap_events
    mark = stream.mark()
    answer = assert_code(server.observe(device.endpoint, path, content_format), "2.05", f"Observe {path}", stream, mark)
    return answer, find_observation(stream, mark, path)


def find_observation(stream, mark: int, path: str, timeout: float = 5.0) -> Observation:
    """The Observe GET for `path` Leshan sent after event index `mark`, and the client's response."""
    deadline = time.monotonic() + timeout
    while True:
        log = coap_log(stream, mark)
        for index, entry in enumerate(log):
            options = coap_options(entry)
            if not entry.get("incoming") and entry.get("code") == "GET" and options.get("Uri-Path") == _segments(path):
                assert options.get("Observe") == ["0"], f"Observe GET without Observe: 0: {describe_coap(entry)}"
                for answer in log[index + 1 :]:
                    if (
                        answer.get("incoming")
                        and answer.get("token") == entry["token"]
                        and str(answer.get("code", "")).startswith("2.")
                    ):
                        assert "Observe" in coap_options(answer), (
                            f"Observe response without an Observe option (the client did not take the observation): "
                            f"{describe_coap(answer)}"
                        )
                        return Observation(path, entry["token"], entry, answer, mark)
        if time.monotonic() > deadline:
            raise AssertionError(f"no Observe GET {path} and its answer:\n{describe_exchange(stream, mark)}")
        stream.wait_for("COAPLOG", max(0.1, deadline - time.monotonic()), after=stream.mark())


def notifications(stream, observation: Observation, after: int | None = None) -> list[dict]:
    """The client's notifications for `observation` (its token, a 2.xx code), the Observe response not
    included, one per Message ID (a retransmitted CON notification counts once)."""
    found, seen_mids = [], set()
    response = observation.response
    for entry in coap_log(stream, observation.mark if after is None else after):
        if not (entry.get("incoming") and entry.get("token") == observation.token):
            continue
        if not str(entry.get("code", "")).startswith("2."):
            continue
        if entry.get("mId") == response.get("mId") and entry.get("type") == response.get("type"):
            continue  # the Observe response (or a retransmission of it)
        if (entry.get("mId"), entry.get("type")) in seen_mids:
            continue
        seen_mids.add((entry.get("mId"), entry.get("type")))
        found.append(entry)
    return found


def wait_for_notifications(stream, observation: Observation, count: int, timeout: float, after: int | None = None) -> list[dict]:
    """At least `count` notifications (the Observe response not counted) within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        seen = stream.mark()
        found = notifications(stream, observation, after)
        if len(found) >= count:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(
                f"{len(found)} of {count} notifications of {observation.path} (token {observation.token}, the "
                f"Observe response not counted) within {timeout:.0f} s:\n" + describe_exchange(stream, observation.mark)
            )
        try:
            stream.wait_for(
                "COAPLOG", remaining, lambda d: isinstance(d, dict) and d.get("token") == observation.token, after=seen
            )
        except AssertionError:
            stream.assert_alive()  # a dead stream is no timeout; otherwise the deadline check reports it


def gaps(observation: Observation, found: list[dict]) -> list[float]:
    """Seconds between the Observe response and the 1st notification, then between notifications."""
    times = [observation.response["timestamp"] / 1000] + [e["timestamp"] / 1000 for e in found]
    return [round(b - a, 2) for a, b in zip(times, times[1:])]


def assert_observe_numbers(observation: Observation, found: list[dict], what: str) -> None:
    """Every notification carries Observe, and the numbers rise strictly from the response's (RFC 7641 §4.4)."""
    for entry in found:
        assert "Observe" in coap_options(entry), f"{what}: notification without Observe: {describe_coap(entry)}"
    sequence = [observation.observe_number] + [int(coap_options(e)["Observe"][0]) for e in found]
    assert all(a < b for a, b in zip(sequence, sequence[1:])), f"{what}: Observe numbers {sequence} do not rise"


def _evidence(observation: Observation, found: list[dict]) -> str:
    return "\n".join(describe_coap(e) for e in [observation.response] + found)


def assert_every_pmax(observation: Observation, found: list[dict], pmin: float, pmax: float, what: str) -> None:
    """Unchanged values: each gap is pmax (within [pmax - EARLY_S, pmax + LATE_S]), and the Observe
    numbers rise. The window must not reach down to pmin, or the check could not tell them apart."""
    assert pmax - EARLY_S > pmin, f"{what}: periods {pmin}/{pmax} too close to tell apart"
    measured = gaps(observation, found)
    assert all(pmax - EARLY_S <= g <= pmax + LATE_S for g in measured), (
        f"{what}: gaps {measured} s, expected every pmax = {pmax} s (pmin {pmin} s; window "
        f"[{pmax - EARLY_S}, {pmax + LATE_S}]):\n" + _evidence(observation, found)
    )
    assert_observe_numbers(observation, found, what)


def assert_periods(observation: Observation, found: list[dict], pmin: float, pmax: float, changes: int, what: str) -> None:
    """A value that may change while watched: no gap below pmin or above pmax, and at most `changes`
    gaps (change-driven notifications) shorter than pmax; Observe numbers rise."""
    measured = gaps(observation, found)
    assert all(pmin - EARLY_S <= g <= pmax + LATE_S for g in measured), (
        f"{what}: gaps {measured} s, expected within [{pmin}, {pmax}]:\n" + _evidence(observation, found)
    )
    early = [g for g in measured if g < pmax - EARLY_S]
    assert len(early) <= changes, (
        f"{what}: gaps {measured} s: {len(early)} notifications before pmax = {pmax} s, at most {changes} "
        f"change-driven ones expected:\n" + _evidence(observation, found)
    )
    assert_observe_numbers(observation, found, what)
