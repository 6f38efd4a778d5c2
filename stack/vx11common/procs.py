"""Process and port helpers for the local launcher (Linux, /proc)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import time
from pathlib import Path


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a listener could bind host:port now (as uvicorn and redis would)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def _listen_inodes(port: int) -> set[int]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(f[9]))
    return inodes


def port_holder(port: int) -> str:
    """'pid N (command line)' of whoever listens on port, or a hint when not findable."""
    inodes = _listen_inodes(port)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                    return f"pid {entry.name} ({cmdline(int(entry.name))})"
        except OSError:
            continue
    return "a process this user cannot see (try: ss -ltnp)"


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:160]


def tagged(name: str, value: str) -> list[int]:
    """Processes whose environment holds ``name=value`` (each leads its own group)."""
    want = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if want in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def from_pidfile(path: Path, name: str) -> list[int]:
    """The pid in ``path`` when that process still runs and its command mentions ``name``."""
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return []
    return [pid] if start_ticks(pid) is not None and name in cmdline(pid) else []


def start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot: with the pid, its identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] in ("Z", "X") else fields[19]


def alive(pid: int, ticks: str | None) -> bool:
    """The recorded process still runs (same pid and start time: not a reused pid)."""
    return ticks is not None and start_ticks(pid) == ticks


def end_group(pid: int, ticks: str | None, grace: float = 8.0) -> str:
    """SIGTERM the process group led by pid, SIGKILL it after ``grace`` seconds."""
    if not alive(pid, ticks):
        _signal_group(pid, signal.SIGKILL, only_if_leader_gone=True)
        return "not running"
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid, ticks):
            _signal_group(pid, signal.SIGKILL, only_if_leader_gone=True)
            return "stopped"
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    return "killed"


def _signal_group(pgid: int, sig: int, only_if_leader_gone: bool = False) -> None:
    """Signal a group we created. With only_if_leader_gone, only leftovers of a group
    whose leader has exited (then nobody else can have reused the group id)."""
    if only_if_leader_gone and Path(f"/proc/{pgid}").exists():
        return
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
