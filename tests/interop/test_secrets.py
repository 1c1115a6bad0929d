"""Secrets hygiene (issue #6): PSKs never reach a log, credential files are private.

The sample runs at the most verbose settings the host port has (`LWM2M_HOST_LOG_LEVEL=dbg`,
`LWM2M_HOST_AT_TRACE=1`, `LWM2M_HOST_COMMIT_TRACE=1`) through bootstrap, registration and a
second boot on the same storage (which loads the stored Security object and uses the sec tags).
Its whole stdout and stderr and both Leshan logs must not hold either PSK in any form a log call
could produce: hex (either case, plain or with ' ', ':' or '0x..,' between bytes), the raw bytes
(the library's logger prints bytes 0x20-0x7e as they are, so the PSKs here are printable ASCII
and would show verbatim) - nor any 8-byte piece of one (a log line is cut at 119 characters).
"""

from __future__ import annotations

import secrets
import stat
import string

VERBOSE_ENV = {"LWM2M_HOST_LOG_LEVEL": "dbg", "LWM2M_HOST_AT_TRACE": "1", "LWM2M_HOST_COMMIT_TRACE": "1"}
PIECE = 8  # bytes


def printable_psk() -> bytes:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16)).encode()


def leak_forms(key: bytes) -> list[str]:
    """Every text form of every PIECE-byte window of `key` that a log line could carry."""
    forms = []
    for start in range(len(key) - PIECE + 1):
        piece = key[start : start + PIECE]
        hex_lower = piece.hex()
        forms += [
            hex_lower,
            hex_lower.upper(),
            " ".join(f"{b:02x}" for b in piece),
            ":".join(f"{b:02x}" for b in piece),
            ", ".join(f"0x{b:02x}" for b in piece),
            piece.decode("ascii"),
        ]
    return forms


def leaks(text: str, key: bytes) -> list[str]:
    lowered = text.lower()
    return sorted({form for form in leak_forms(key) if form.lower() in lowered})


def lines_with(text: str, forms: list[str]) -> list[str]:
    return [line for line in text.splitlines() if any(f.lower() in line.lower() for f in forms)][:5]


def test_psks_never_in_logs_and_credential_files_private(leshan, carrier_device, provision):
    bs_psk, dm_psk = printable_psk(), printable_psk()
    device = carrier_device(bootstrap_psk_hex=bs_psk.hex(), extra_env=dict(VERBOSE_ENV))
    provision(device.endpoint, bs_psk.hex(), dm_psk.hex(), 300)

    first = device.boot()
    device.process.wait_for_event("BOOTSTRAPPED", 60, after=first)
    device.process.wait_for_event("REGISTERED", 60, after=first)
    device.dm_events.wait_for("REGISTRATION", timeout=10)
    # Second boot: the stored records and the sec tags are read back and used.
    device.process.stop()
    second = device.boot()
    device.process.wait_for_event("REGISTERED", 60, after=second)
    assert "BOOTSTRAPPED" not in device.process.events(after=second)
    device.process.stop()

    outputs = {
        "sample stdout": device.process.stdout_path,
        "sample stderr": device.process.stderr_path,
        "Leshan server log": leshan.workdir / "server" / "server.log",
        "Leshan bootstrap server log": leshan.workdir / "bsserver" / "bsserver.log",
    }
    texts = {name: path.read_text(encoding="utf-8", errors="replace") for name, path in outputs.items()}
    assert "<dbg> lwm2m_carrier:" in texts["sample stderr"], "the sample did not log at dbg"
    assert "AT> " in texts["sample stderr"], "LWM2M_HOST_AT_TRACE had no effect"
    found = []
    for name, text in texts.items():
        for which, key in (("bootstrap PSK", bs_psk), ("server PSK", dm_psk)):
            forms = leaks(text, key)
            if forms:
                found.append(f"{which} in {name} ({outputs[name]}): {forms[:3]}; lines: {lines_with(text, forms)}")
    assert not found, "PSK material in the logs:\n" + "\n".join(found)

    # Where the modem simulator keeps the sec-tag credentials, and the records (the Security
    # record holds the server PSK): readable by the user only.
    sec = device.storage_dir / "sec"
    credentials = sorted(p for p in sec.iterdir() if not p.name.endswith(".tmp"))
    assert {p.name for p in credentials} >= {"25.3", "25.4", "26.3", "26.4"}, credentials
    wrong = {
        str(p.relative_to(device.storage_dir)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in credentials + sorted(device.storage_dir.glob("*.rec"))
        if stat.S_IMODE(p.stat().st_mode) != 0o600
    }
    assert not wrong, f"files not 0600: {wrong}"
    assert stat.S_IMODE(sec.stat().st_mode) == 0o700, oct(sec.stat().st_mode)
    # The PSK files hold what was provisioned (so the check above looked at the right files).
    assert (sec / "26.3").read_bytes().lower() == dm_psk.hex().encode()
    assert (sec / "25.3").read_bytes().lower() == bs_psk.hex().encode()


def test_leak_forms_cover_the_log_shapes():
    """The matcher itself: it finds a piece of a PSK in each shape, and not in unrelated text."""
    key = b"Ab3dEf7hIj1kLm9n"
    for shaped in (
        key.hex(),
        key.hex().upper(),
        "psk=" + key.hex()[4:22],
        " ".join(f"{b:02x}" for b in key),
        key.decode()[3:12],
    ):
        assert leaks(f"[  1.000] <dbg> lwm2m_carrier: {shaped} end", key), shaped
    assert not leaks("[  1.000] <dbg> lwm2m_carrier: registered at /rd/5a3f", key)
