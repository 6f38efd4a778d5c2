"""The Docker scripts' shared shell helpers (stack/docker/common.sh): a daemon started
in the background keeps none of its caller's descriptors, and a lock that is not
released in time names the process that holds it.

A dockerd started by scripts/docker-engine from inside scripts/stack-docker once kept
that script's lock descriptor, so every later stack-docker waited out its whole lock
timeout: these tests keep that from coming back.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import time

from selftests.gaterun import REPO

COMMON = REPO / "stack" / "docker" / "common.sh"


def _bash(script: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", f'set -euo pipefail; source "{COMMON}"; {script}'],
                          capture_output=True, text=True, timeout=timeout, check=False)


def _lock_is_free(path) -> bool:
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_detached_daemon_keeps_no_descriptor_of_its_caller(tmp_path):
    lock, log = tmp_path / "held.lock", tmp_path / "daemon.log"
    done = _bash(f'exec 9>"{lock}"; flock 9; exec 7<"{COMMON}"; '
                 f'vx11_detach "{log}" sleep 30; echo "$VX11_DETACHED_PID"')
    assert done.returncode == 0, done.stderr
    pid = int(done.stdout.split()[-1])
    try:
        deadline = time.monotonic() + 10
        while not open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"sleep"):  # setsid has exec'd
            assert time.monotonic() < deadline, "the detached command never started"
            time.sleep(0.02)
        fds = sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))
        assert fds == [0, 1, 2], f"the detached process kept descriptors {fds}"
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        assert os.readlink(f"/proc/{pid}/fd/1") == str(log)
        assert os.getsid(pid) == pid, "the detached process is not in a session of its own"
        assert _lock_is_free(lock), "the caller's lock is still held after the caller exited"
    finally:
        os.kill(pid, signal.SIGKILL)


def test_lock_timeout_names_the_holder(tmp_path):
    lock = tmp_path / "busy.lock"
    holder = subprocess.Popen(["flock", str(lock), "sleep", "30"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while _lock_is_free(lock):
            assert time.monotonic() < deadline, "flock never took the lock"
            time.sleep(0.05)
        start = time.monotonic()
        done = _bash(f'exec 9>"{lock}"; vx11_lock 9 1 "{lock}" "another tester"; echo took')
        assert done.returncode == 1 and "took" not in done.stdout, done.stdout + done.stderr
        assert time.monotonic() - start < 10
        assert "another tester" in done.stderr and "sleep 30" in done.stderr, done.stderr
        assert f" {holder.pid} (" in done.stderr, done.stderr
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)


def test_free_lock_is_taken_at_once(tmp_path):
    lock = tmp_path / "free.lock"
    done = _bash(f'exec 9>"{lock}"; vx11_lock 9 1 "{lock}" "nobody"; echo took')
    assert done.returncode == 0 and done.stdout.strip() == "took", done.stderr
    assert "waiting" not in done.stderr
