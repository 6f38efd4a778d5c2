"""The local launcher's failure paths, each in its own network namespace."""

from __future__ import annotations

import os
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


def test_unreachable_stack_is_one_message_and_exit_3(tmp_path):
    """The deadline is the profile's reach_timeout_sec (5 s), not a pile of per-test timeouts."""
    import socket
    import subprocess

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = subprocess.run([sys.executable, "-m", "pytest", "-m", "gate", "--launcher", "external",
                           f"--base-url=http://127.0.0.1:{port}", f"--evidence-dir={tmp_path}", "-p",
                           "no:cacheprovider"], cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "VX11_TOKEN": "unreachable-test-token"})
    out = done.stdout + done.stderr
    assert done.returncode == 3, out
    assert f"stack unreachable: GET http://127.0.0.1:{port}/health for 5s" in out, out
    assert "Connection refused" in out and " passed in " not in out, out  # no test ran
    assert "unreachable-test-token" not in "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())


def test_wrong_token_is_one_message_and_exit_4(lab, tmp_path):
    """A token the gateway refuses is said once, before any gate runs: not 401s in every gate."""
    if lab.ns is None:
        pytest.skip("needs root and `ip` for a private network namespace")
    lab.start()
    done = lab.run([sys.executable, "-m", "pytest", "-m", "gate", "--launcher", "external", "--backend", "host",
                    f"--evidence-dir={tmp_path}", "-p", "no:cacheprovider"], timeout=120,
                   extra_env={"VX11_TOKEN": "not-the-stack-token"})
    out = done.stdout + done.stderr
    assert done.returncode == 4, out
    assert "the gateway refuses the token in VX11_TOKEN: GET /madre/flags answered 401" in out, out
    assert "0 failed, 0 could not look, 0 passed" in out and " passed in " not in out, out  # no gate ran
    assert b"not-the-stack-token" not in b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
