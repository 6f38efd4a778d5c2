"""The local launcher's failure paths, each in its own network namespace."""

from __future__ import annotations

import sys

import pytest

from selftests.gaterun import REPO, Lab

pytestmark = [pytest.mark.slow]
_PORTS_FREE = ("import socket,sys\n"
               "busy=[p for p in (6379,8000,8001,8002,8003) if socket.socket().connect_ex(('127.0.0.1',p))==0]\n"
               "print(busy); sys.exit(1 if busy else 0)")


@pytest.fixture
def lab(tmp_path, worker_id):
    place = Lab(f"vx11-launch-{worker_id}", tmp_path)
    yield place
    place.close()


def test_stop_after_a_crash_cleans_up(lab):
    if lab.ns is None:
        pytest.skip("needs root and `ip` for a private network namespace")
    lab.start()
    (lab.workdir / "run" / "state.json").unlink()  # the launcher's record is lost, as in a crash
    done = lab.run([str(REPO / "scripts" / "stack-local"), "stop"], timeout=60)
    assert "leftover pid" in done.stdout, done.stdout + done.stderr
    free = lab.run([sys.executable, "-c", _PORTS_FREE], timeout=30)
    assert free.returncode == 0, f"ports still answering after stop: {free.stdout}"


def test_port_taken_is_named(lab):
    if lab.ns is None:
        pytest.skip("needs root and `ip` for a private network namespace")
    holder = ("import socket,time\ns=socket.socket();s.bind(('127.0.0.1',8002));s.listen();"
              "print('up',flush=True);time.sleep(60)")
    import subprocess

    proc = subprocess.Popen([*lab.prefix, sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "up"
        done = lab.run([str(REPO / "scripts" / "stack-local"), "start", "--data-dir", str(lab.data)], timeout=60)
        assert done.returncode == 2 and "8002" in done.stderr, done.stdout + done.stderr
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_token_unset_is_refused(lab):
    done = lab.run([str(REPO / "scripts" / "stack-local"), "start"], timeout=60, extra_env={"VX11_TOKEN": ""})
    assert done.returncode == 2 and "VX11_TOKEN" in done.stderr, done.stdout + done.stderr
