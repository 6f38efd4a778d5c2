"""Judge the right stack and leave it as found, on the local launcher, each in a Lab
(a private network namespace): a stranger on the gateway's port is named and the run
stops (exit 3); a controller killed with SIGKILL while it had switch paused leaves a
watchdog that resumes switch within the bound; a service left paused by a dead run
(watchdog killed too) is resumed by the next run, which says so; a service frozen by
someone else is a warning (optional) or stops the run (required)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fixtures.backends.disrupt import state_dir
from selftests.gaterun import REPO, Lab

pytestmark = [pytest.mark.slow]
TOKEN = "as-found-selftest-token"
GATE_ARGS = ["--launcher", "external", "--backend", "host", "-p", "no:cacheprovider", "-p", "no:xdist",
             "--no-evidence", "-q"]


@pytest.fixture
def lab(tmp_path, worker_id):
    place = Lab(f"vx11-found-{worker_id}", tmp_path)
    if place.ns is None:
        pytest.skip("needs root and `ip` for a private network namespace")
    place.env["VX11_TOKEN"] = TOKEN
    yield place
    place.close()


def _proc_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _pid_on(lab: Lab, port: int) -> int:
    done = lab.run(["ss", "-Hltnp", f"sport = :{port}"], timeout=20)
    return int(done.stdout.split("pid=")[1].split(",")[0])


def test_stranger_on_the_port_is_named_and_stops_the_run(lab, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "VX11_TOKEN"}
    stranger = subprocess.Popen([*lab.prefix, sys.executable, "-m", "http.server", "8000", "--bind", "127.0.0.1"],
                                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while lab.run(["ss", "-Hltn", "sport = :8000"], timeout=10).stdout.strip() == "":
            assert time.monotonic() < deadline, "http.server never listened"
            time.sleep(0.1)
        start = time.monotonic()
        done = lab.run([sys.executable, "-m", "pytest", "-m", "gate", *GATE_ARGS[:4], "-p", "no:cacheprovider",
                        "--no-evidence", "-q"], timeout=120)
        took = time.monotonic() - start
    finally:
        stranger.kill()
        stranger.wait(timeout=10)
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert "this is not a VX11 gateway" in out and "http.server" in out and "answered 404" in out, out
    assert " passed" not in out.split("RELEASE")[0].splitlines()[-1] if "RELEASE" in out else True
    assert took < 15, f"took {took:.1f}s"
    print(f"stranger refused in {took:.1f}s")


def _records(lab: Lab) -> list[Path]:
    """This lab's pause records (the stack key names the network namespace)."""
    ino = os.stat(f"/run/netns/{lab.ns}").st_ino
    return sorted(state_dir().glob(f"paused-*-ns{ino}-*.json"))


def _kill_while_paused(lab: Lab, tmp_path: Path, also_watchdog: bool) -> tuple[int, float]:
    """Run the degraded-path gate; SIGKILL the controller once switch is paused. The pid of
    switch, and when the kill happened."""
    switch = _pid_on(lab, 8002)
    before = set(_records(lab))
    ctl = subprocess.Popen([*lab.prefix, sys.executable, "-m", "pytest", "-m", "gate", "gates/test_degraded_fallback.py",
                            *GATE_ARGS], cwd=REPO, env={**os.environ, **lab.env}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while _proc_state(switch) not in ("T", "t"):
            assert time.monotonic() < deadline and ctl.poll() is None, "switch was never paused"
            time.sleep(0.02)
        record = next(iter(set(_records(lab)) - before))
        doc = json.loads(record.read_text())
        if also_watchdog:  # the watchdog is the pytest process's detached child: find it by its record
            for proc in Path("/proc").iterdir():
                if proc.name.isdigit():
                    try:
                        if str(record).encode() in (proc / "cmdline").read_bytes():
                            os.kill(int(proc.name), signal.SIGKILL)
                    except OSError:
                        continue
        ctl.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert doc["controller_pid"] == ctl.pid, doc
    finally:
        ctl.kill()
        ctl.wait(timeout=30)
    return switch, killed


def test_sigkilled_controller_leaves_the_stack_whole(lab, tmp_path):
    lab.start()
    switch, killed = _kill_while_paused(lab, tmp_path, also_watchdog=False)
    deadline = killed + 5
    while _proc_state(switch) in ("T", "t"):
        assert time.monotonic() < deadline, "switch still stopped 5 s after the controller was killed"
        time.sleep(0.05)
    print(f"switch resumed {time.monotonic() - killed:.2f}s after SIGKILL")
    nxt = lab.gates(tmp_path, "gate", "--backend", "host", "-k", "required_services_running", "-p", "no:xdist")
    assert nxt.rc == 6 and not nxt.failing, nxt.explain()  # one check selected: INCOMPLETE, nothing broken
    assert "its watchdog resumed" in nxt.output, nxt.explain()


def test_paused_by_a_dead_run_is_resumed_and_said(lab, tmp_path):
    lab.start()
    switch, _ = _kill_while_paused(lab, tmp_path, also_watchdog=True)
    time.sleep(1.0)
    assert _proc_state(switch) in ("T", "t"), "switch was resumed although its watchdog was killed too"
    nxt = lab.gates(tmp_path, "gate", "--backend", "host", "-k", "required_services_running", "-p", "no:xdist")
    assert _proc_state(switch) not in ("T", "t")
    assert nxt.rc == 6 and not nxt.failing, nxt.explain()  # one check selected: INCOMPLETE, nothing broken
    assert "paused by an earlier gate run" in nxt.output and "SIGCONT to pid" in nxt.output, nxt.explain()


def test_frozen_by_someone_else_is_reported(lab, tmp_path):
    lab.start()
    switch, madre = _pid_on(lab, 8002), _pid_on(lab, 8001)
    os.kill(switch, signal.SIGSTOP)
    try:
        run = lab.gates(tmp_path, "gate", "--backend", "host", "-k", "required_services_running", "-p", "no:xdist")
        assert run.rc == 6 and not run.failing, run.explain()  # one check selected: INCOMPLETE, nothing broken
        assert "switch (optional) was found frozen" in run.output and "not by this suite" in run.output, run.explain()
        assert _proc_state(switch) in ("T", "t"), "the suite resumed a service it had not paused"
    finally:
        os.kill(switch, signal.SIGCONT)
    os.kill(madre, signal.SIGSTOP)
    try:
        run = lab.gates(tmp_path, "gate", "--backend", "host", "-p", "no:xdist", timeout=120)
    finally:
        os.kill(madre, signal.SIGCONT)
    assert run.rc == 3, run.explain()
    assert "cannot judge a stack with a required service frozen" in run.output and "madre is pid" in run.output, \
        run.explain()
