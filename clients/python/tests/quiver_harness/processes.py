"""Child processes that always die with their test session.

Each process starts in its own session (so its own process group) with a log
file, and with ``PR_SET_PDEATHSIG`` so that it is killed even if pytest itself
is killed. ``stop`` sends SIGTERM to the leader (a quiver coordinator stops
its own workers on SIGTERM), then SIGKILLs the group and any descendant that
moved to another group.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import psutil

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a TCP connection to host:port is accepted."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class ManagedProcess:
    """ManagedProcess is one child process with its log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop().
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.pid = self.proc.pid
        self.returncode: int | None = None

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid}>"

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.proc.poll() is None

    def log_tail(self, max_bytes: int = 8000) -> str:
        """The end of the process's combined stdout/stderr."""
        try:
            data = self.log_path.read_bytes()
        except OSError as exc:
            return f"<no log: {exc}>"
        return data[-max_bytes:].decode("utf-8", errors="replace")

    def describe(self) -> str:
        """A multi-line description for failure messages."""
        state = "running" if self.alive() else f"exited with {self.proc.returncode}"
        return f"{self.name} ({' '.join(self.argv)}) {state}; log {self.log_path}:\n{self.log_tail()}"

    def stop(self, grace: float = 10.0) -> int | None:
        """Stop the process and all its descendants; return the leader's exit code."""
        try:
            descendants = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=grace)
        psutil.wait_procs(descendants, timeout=grace)
        self.returncode = self.proc.returncode
        if not self._log.closed:
            self._log.close()
        return self.returncode


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
