"""Probe units on real sockets: the HTTP probe, the /proc listener reader, waiting."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fixtures.backends.containers import same_service
from fixtures.backends.host import is_loopback, listeners, socket_owners
from fixtures.probes.contract import absolute_origins, chat_problems, health_problems, window_problems
from fixtures.probes.http import HttpProbe, percentile
from fixtures.probes.waiting import WaitTimeout, wait_until


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/slow":
            time.sleep(1.0)
        body = json.dumps({"token": self.headers.get("x-vx11-token")}).encode()
        self.send_response(200 if self.path != "/text" else 500)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body if self.path != "/text" else b"oops")


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_http_probe_token_modes(server):
    probe = HttpProbe(server, "x-vx11-token", "secret-value", timeout=5)
    assert probe.get("/").body == {"token": "secret-value"}
    assert probe.get("/", token=False).body == {"token": None}
    assert probe.get("/", token="other").body == {"token": "other"}
    fact = probe.get("/text")
    assert fact.status == 500 and fact.body is None and "oops" in fact.head()


def test_http_probe_timeout_and_refused(server):
    probe = HttpProbe(server, "x-vx11-token", None, timeout=0.2)
    slow = probe.get("/slow")
    assert slow.status is None and "Timeout" in slow.error
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = HttpProbe(f"http://127.0.0.1:{port}", "h", None, 1).get("/")
    assert refused.status is None and "no response" in refused.head()


def test_listeners_and_owner_of_a_real_socket():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        mine = [x for x in listeners() if x.port == port]
        assert mine and mine[0].address == "127.0.0.1"
        assert socket_owners({mine[0].inode})[mine[0].inode] == os.getpid()
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("::")


def test_wait_until_reports_last_value():
    calls = []
    assert wait_until(lambda: calls.append(1) or len(calls), timeout=2, interval=0.01, accept=lambda n: n >= 3) == 3
    with pytest.raises(WaitTimeout, match="waiting for the moon; last seen: 'no'"):
        wait_until(lambda: "no", timeout=0.1, interval=0.02, what="the moon", accept=lambda v: v == "yes")


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50 and percentile(values, 95) == 95 and percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0


def test_contract_shapes():
    assert health_problems({"status": "ok", "service": "madre", "version": "1"}, "madre") == []
    assert health_problems({"status": "ok", "version": "1"}, "madre")[0][0] == "body.service"
    now = 1000.0
    ok = {"window_id": "w", "service": "switch", "opened_at": now, "deadline_timestamp": now + 30,
          "ttl_sec": 30, "state": "open"}
    assert window_problems(ok, service="switch", ttl=30) == []
    late = {**ok, "deadline_timestamp": now + 90}
    assert window_problems(late, service="switch", ttl=30)[0][0].startswith("deadline_timestamp")
    page = '<script>const base = "http://localhost:8000"</script><svg xmlns="http://www.w3.org/2000/svg">'
    assert absolute_origins(page) == ["http://localhost:8000"]
    assert absolute_origins('fetch("/operator/api/chat")') == []


def test_chat_problems_reads_the_body(server):
    probe = HttpProbe(server, "x-vx11-token", None, 5)
    fact = probe.get("/")  # a 200 JSON body without the chat fields
    assert chat_problems(fact, "s1")[0] == ("body.session_id", "present", "missing")


@pytest.mark.parametrize(("label", "name", "same"), [
    ("tentaculo_link", "tentaculo_link", True), ("tentaculo-link", "tentaculo_link", True),
    ("Madre", "madre", True), ("vx11-madre", "madre", True), ("vx11_spawner", "spawner", True),
    ("madre_worker", "madre", False), ("switchboard", "switch", False), ("other-madre", "madre", False),
])
def test_service_labels_match_across_naming_styles(label, name, same):
    assert same_service(label, name, "vx11") is same


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LISTENER = ("import socket,sys,time\ns=socket.socket();s.bind(('127.0.0.1',int(sys.argv[1])));s.listen()\n"
             "print('Traceback (most recent call last):',flush=True);print('up',file=sys.stderr,flush=True)\n"
             "time.sleep(60)")


@pytest.mark.parametrize("to_file", [True, False])
def test_host_log_is_the_service_output_file_when_no_log_dir(tmp_path, to_file):
    """A stack run by others writes no <service>.log where the profile says: its stdout
    file is read instead, and a pipe is "cannot look", never an empty, clean log."""
    from fixtures.backends.facts import BackendError
    from fixtures.backends.host import HostBackend
    from fixtures.profile.load import DEFAULT_PROFILE, load_profile

    port = _free_port()
    text = DEFAULT_PROFILE.read_text().replace("port = 8003", f"port = {port}", 1)
    text = re.sub(r'(?m)^log_dir = .*$', f'log_dir = "{tmp_path / "no-logs-here"}"', text)
    (tmp_path / "p.toml").write_text(text.replace('root = "../stack"', f'root = "{DEFAULT_PROFILE.parent.parent}/stack"'))
    out = open(tmp_path / "spawner.out", "w") if to_file else subprocess.PIPE
    proc = subprocess.Popen([sys.executable, "-c", _LISTENER, str(port)], stdout=out, stderr=subprocess.STDOUT)
    try:
        backend = HostBackend(load_profile(tmp_path / "p.toml"))
        deadline = time.monotonic() + 10
        while not backend.states(refresh=True)["spawner"].present:
            assert time.monotonic() < deadline, "the listener never came up"
            time.sleep(0.05)
        if to_file:
            assert "Traceback (most recent call last):" in backend.logs("spawner")
        else:
            with pytest.raises(BackendError, match="no log to read for spawner"):
                backend.logs("spawner")
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if to_file:
            out.close()
