"""A client under test as a subprocess whose stdout is read line by line, live.

The host sample prints one carrier event per line (`LWM2M_CARRIER_EVENT_<NAME>`; a DEFERRED is
followed by `Reason: <text>, timeout: <n> seconds`, an ERROR by `<text>, reason <value>`) and
logs to stderr. Exit status 64 means "reboot requested" (lwm2m_os_reboot on the host port): the
process is started again with the same environment, so on the same storage directory, and a
marker line `RESTARTED_AFTER_EXIT_64` is inserted into the collected stdout. Any other exit is
recorded and makes pending waits fail at once instead of running into their timeout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional

REBOOT_EXIT_STATUS = 64
RESTART_MARKER = "RESTARTED_AFTER_EXIT_64"
EVENT_PREFIX = "LWM2M_CARRIER_EVENT_"
MAX_RESTARTS = 20


class ManagedProcess:
    def __init__(self, argv: list[str], env: dict[str, str], log_dir: Path, name: str, cwd: Optional[Path] = None):
        self.argv = argv
        self.env = env
        self.name = name
        self.cwd = cwd
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.stdout_path = log_dir / f"{name}.stdout.log"
        self.lines: list[str] = []
        self.line_times: list[float] = []  # time.time() when each line of `lines` was read
        self.restarts = 0
        self.exit_status: Optional[int] = None  # set when the process ended for good
        self._cond = threading.Condition()
        self._stopping = False
        self._proc: Optional[subprocess.Popen] = None
        self._reader: Optional[threading.Thread] = None

    # ------------------------------------------------------------------ life cycle

    def start(self) -> "ManagedProcess":
        with self._cond:
            self._stopping = False
            self.exit_status = None
        self._spawn()
        return self

    def _spawn(self) -> None:
        stderr = open(self.stderr_path, "ab")
        try:
            self._proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                start_new_session=True,
            )
        finally:
            stderr.close()
        proc = self._proc
        self._reader = threading.Thread(target=self._read, args=(proc,), name=f"{self.name} stdout", daemon=True)
        self._reader.start()

    def _read(self, proc: subprocess.Popen) -> None:
        with open(self.stdout_path, "a", encoding="utf-8") as copy:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                copy.write(line + "\n")
                copy.flush()
                with self._cond:
                    self.lines.append(line)
                    self.line_times.append(time.time())
                    self._cond.notify_all()
        status = proc.wait()
        with self._cond:
            if not self._stopping and status == REBOOT_EXIT_STATUS and self.restarts < MAX_RESTARTS:
                self.restarts += 1
                self.lines.append(RESTART_MARKER)
                self.line_times.append(time.time())
                self._cond.notify_all()
                restart = True
            else:
                self.exit_status = status
                self._cond.notify_all()
                restart = False
        if restart:
            self._spawn()

    def stop(self) -> None:
        """Kill the process (no restart), like pulling the power."""
        with self._cond:
            self._stopping = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)

    @property
    def running(self) -> bool:
        with self._cond:
            return self._proc is not None and self._proc.poll() is None and self.exit_status is None

    # ------------------------------------------------------------------ output

    def mark(self) -> int:
        """Index of the next line: pass it as `after` to wait only for what comes later."""
        with self._cond:
            return len(self.lines)

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> tuple[int, re.Match]:
        """First stdout line at or after index `after` that matches `pattern` (re.search)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(after, len(self.lines)):
                    match = regex.search(self.lines[index])
                    if match:
                        return index, match
                after = max(after, len(self.lines))
                if self.exit_status is not None:
                    raise AssertionError(
                        f"{self.name} exited with status {self.exit_status} before printing /{pattern}/\n"
                        + self.report()
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{self.name}: no line /{pattern}/ within {timeout:.0f} s\n" + self.report())
                self._cond.wait(remaining)

    def wait_for_event(self, name: str, timeout: float, after: int = 0) -> int:
        index, _ = self.wait_for(rf"^{EVENT_PREFIX}{name}$", timeout, after)
        return index

    def line_time(self, index: int) -> float:
        """Wall-clock time (time.time()) at which stdout line `index` was read."""
        with self._cond:
            return self.line_times[index]

    def events(self, after: int = 0, before: Optional[int] = None) -> list[str]:
        """Carrier event names (without the prefix) printed in [after, before)."""
        with self._cond:
            window = self.lines[after:before]
        return [line[len(EVENT_PREFIX):] for line in window if line.startswith(EVENT_PREFIX)]

    def stderr_tail(self, max_lines: int = 80) -> str:
        try:
            text = self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-max_lines:])

    def report(self) -> str:
        with self._cond:
            stdout = "\n".join(self.lines[-80:])
        return (
            f"--- {self.name} stdout (last 80 lines; restarts: {self.restarts}) ---\n{stdout}\n"
            f"--- {self.name} stderr (last 80 lines; full log {self.stderr_path}) ---\n{self.stderr_tail()}\n"
        )


def assert_subsequence(actual: list[str], expected: list[str], what: str = "events") -> None:
    """`expected` appears in `actual` in order (other items may sit in between)."""
    position = 0
    for item in actual:
        if position < len(expected) and item == expected[position]:
            position += 1
    if position < len(expected):
        raise AssertionError(
            f"{what}: expected in this order {expected}\n"
            f"got {actual}\n"
            f"first missing: {expected[position]} (after {expected[:position]})"
        )
