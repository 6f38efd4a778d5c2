"""Backend units on real files and sockets: base URL bindings, the private state folder
(records and the per-stack lock: never a fixed, shared path), per-namespace stack keys,
and a socket made in another network namespace."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.backends.disrupt import stack_key, state_dir
from fixtures.backends.facts import BackendError
from fixtures.backends.identity import binding_matches
from fixtures.backends.netns import connect_in
from fixtures.profile.load import load_profile


def test_a_binding_serves_the_base_url_by_address_and_port():
    p = load_profile()  # base_url http://127.0.0.1:8000
    assert binding_matches(p, "127.0.0.1", 8000) and binding_matches(p, "0.0.0.0", 8000)
    assert binding_matches(p, "", 8000) and binding_matches(p, "::", 8000)
    assert not binding_matches(p, "127.0.0.1", 18000)   # the port number is not enough...
    assert not binding_matches(p, "10.0.0.5", 8000)     # ...and nor is another address's binding


def test_state_folder_is_private_and_refused_when_not(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    path = state_dir()
    assert path.parent == tmp_path and (path.stat().st_mode & 0o777) == 0o700
    path.chmod(0o777)
    with pytest.raises(BackendError, match="not a private folder"):
        state_dir()


def test_stack_key_names_the_network_namespace():
    p = load_profile()
    key = stack_key(p)
    assert key.startswith("vx11-8000-ns") and key.endswith(str(os.stat("/proc/self/ns/net").st_ino))
    if os.geteuid() != 0:
        pytest.skip("needs root for unshare -n")
    code = ("import sys; sys.path.insert(0, '.'); from fixtures.backends.disrupt import stack_key; "
            "from fixtures.profile.load import load_profile; print(stack_key(load_profile()))")
    other = subprocess.run(["unshare", "-n", sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=60, check=True).stdout.strip()
    assert other != key and other.startswith("vx11-8000-ns")


def test_connect_in_another_namespace(tmp_path):
    """A listener only inside a new network namespace is reached through its ns file."""
    if os.geteuid() != 0:
        pytest.skip("needs root for unshare -n")
    code = ("import socket,sys,time\ns=socket.socket();s.bind(('127.0.0.1',0));s.listen()\n"
            "print(s.getsockname()[1],flush=True)\nc,_=s.accept();c.sendall(b'hello');time.sleep(1)")
    proc = subprocess.Popen(["unshare", "-n", "sh", "-c", f"ip link set lo up; exec {sys.executable} -c \"$0\"",
                             code], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()  # not in our namespace
        sock = connect_in(Path(f"/proc/{proc.pid}/ns/net"), port, timeout=5)
        assert sock.recv(5) == b"hello"
        sock.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
