"""What the contract checks need: the public URL, the token, HTTP, and (for a
local stack) the launcher's state file, to pause a service or read its env."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # fixtures.probes.waiting lives at the repository root
    sys.path.insert(0, str(REPO))
from fixtures.probes.waiting import wait_until  # noqa: E402

HEADER = "x-vx11-token"
CHAT = "/operator/api/chat"
OPEN, CLOSE, WINDOWS = "/madre/power/window/open", "/madre/power/window/close", "/madre/power/windows"
CHAT_FIELDS = {"session_id", "reply", "degraded", "fallback_source", "request_id"}
OPEN_FIELDS = {"window_id", "service", "opened_at", "deadline_timestamp", "ttl_sec", "state"}
FLAG_NAMES = ("playwright", "deepseek_runtime", "smoke_tests")
NO_TOKEN = ""
# Checks that freeze a service hold this lock exclusively; checks that need every
# service up hold it shared, so the two never overlap, even across xdist workers.
LOCK = Path(tempfile.gettempdir()) / "vx11-contract-pause.lock"


@contextlib.contextmanager
def _flock(mode: int) -> Iterator[None]:
    with open(LOCK, "a+") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def all_up() -> contextlib.AbstractContextManager[None]:
    """Hold while a check needs every service answering (no pause in progress)."""
    return _flock(fcntl.LOCK_SH)


@dataclass(frozen=True)
class Resp:
    """One HTTP answer, as a fact: status (None when no answer), JSON body, text head, time."""

    method: str
    path: str
    status: int | None
    body: Any
    text: str
    elapsed: float
    error: str | None = None

    def __str__(self) -> str:
        seen = self.error or f"{self.status} {self.text[:300]!r}"
        return f"{self.method} {self.path} -> {seen} ({self.elapsed * 1000:.0f} ms)"


@dataclass
class Ctx:
    base_url: str
    token: str
    run_dir: Path
    session: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def from_env(cls) -> Ctx:
        run_dir = Path(os.environ.get("VX11_LOCAL_RUN_DIR", REPO / ".run" / "local"))
        return cls(os.environ.get("VX11_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
                   os.environ.get("VX11_TOKEN", ""), run_dir)

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
             token: str | None = None, timeout: float = 10.0) -> Resp:
        """token None sends the real token; NO_TOKEN sends none; any other string is sent as is."""
        headers = {"content-type": "application/json"}
        value = self.token if token is None else token
        if value:
            headers[HEADER] = value
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        start = time.monotonic()
        try:
            r = self.session.request(method, self.base_url + path, data=data, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            return Resp(method, path, None, None, "", time.monotonic() - start, f"{type(exc).__name__}: {exc}")
        try:
            parsed = r.json()
        except ValueError:
            parsed = None
        return Resp(method, path, r.status_code, parsed, r.text, time.monotonic() - start)

    # -- the local stack (scripts/stack-local), when that is what runs ---------------

    def local_state(self) -> dict[str, Any] | None:
        """The launcher's state when a local stack is recorded and its gateway is alive."""
        try:
            state = json.loads((self.run_dir / "state.json").read_text())
            pid = state["services"]["tentaculo_link"]["pid"]
        except (OSError, ValueError, KeyError):
            return None
        return state if Path(f"/proc/{pid}").exists() else None

    def require_local(self) -> dict[str, Any]:
        state = self.local_state()
        if state is None:
            import pytest

            pytest.skip(f"needs the local stack (scripts/stack-local start; state in {self.run_dir})")
        return state

    def service_env(self, name: str) -> dict[str, str]:
        pid = self.require_local()["services"][name]["pid"]
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        return dict(p.split("=", 1) for p in raw.split("\0") if "=" in p)

    @contextlib.contextmanager
    def paused(self, name: str) -> Iterator[None]:
        """Freeze a service (SIGSTOP its process group): it accepts connections, answers nothing."""
        info = self.require_local()["services"][name]
        pid, own = info["pid"], f"http://127.0.0.1:{info['port']}/health"
        with _flock(fcntl.LOCK_EX):
            os.killpg(pid, signal.SIGSTOP)
            try:
                yield
            finally:
                os.killpg(pid, signal.SIGCONT)
                wait_until(lambda: requests.get(own, timeout=1).status_code, timeout=10, interval=0.1,
                           what=f"{name} answering again after SIGCONT", accept=lambda v: v == 200)


def is_json_error(r: Resp) -> bool:
    return isinstance(r.body, dict) and bool(r.body)
