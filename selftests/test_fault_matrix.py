"""The fault matrix: every gate is shown to fail on a real fault, and to pass on a
healthy stack.

Each case starts the reference stack (local processes) with one fault, runs the
gates and E2E scenarios as a user would (`pytest -m "gate or e2e" --launcher
external` in a subprocess), and checks that exactly the expected gates fail and
that the first one's failure line reads as the fault says. Faults come from two
places: the stack's own switches (VX11_FAULTS), and deployment faults made from
outside on a throwaway copy of the stack's repository.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from selftests.gaterun import REPO, GateRun, Lab

pytestmark = [pytest.mark.faults, pytest.mark.slow]
ALL = "gate"  # the release command: every promise, the E2E scenarios included
HOST = "--backend=host"  # the matrix runs the local launcher: facts from /proc

# fault switch -> (gates that must fail, the first line of the first of them)
SWITCHES: dict[str, tuple[set[str], str]] = {
    "chat_5xx": ({"chat_endpoint", "degraded_fallback", "e2e_operator_chat", "e2e_operator_ui"}, r"chat_endpoint: POST /operator/api/chat: status .*expected 200, found 500"),
    "bad_input_5xx": ({"degraded_fallback", "chat_endpoint"}, r"degraded_fallback: POST /operator/api/chat.*: status: expected 4(\d\d|xx).*found 500"),
    "no_auth": ({"chat_endpoint"}, r"chat_endpoint: (GET|POST) /\S+ with the token \w+: status: expected 401, found 200"),
    "degraded_503": ({"degraded_fallback"}, r"degraded_fallback: POST /operator/api/chat with .* down: status: expected 200 JSON, found 503"),
    "absolute_origin_ui": ({"e2e_operator_chat", "e2e_operator_ui"}, r"e2e_operator_chat: operator UI: absolute origins shipped: expected none"),
    "health_blind": ({"service_health"}, r"service_health: tentaculo_link: dependencies\.\w+ while \w+ is paused: expected 'down'"),
    "health_body_wrong": ({"service_health"}, r"service_health: \w+: body\.service: expected present, found missing"),
    "ttl_not_enforced": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: window \S+: state 1s after the deadline: expected 'expired'"),
    "wrong_deadline": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: open: deadline_timestamp - \(opened_at \+ ttl_sec\): expected 0"),
    "allowlist_open": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: random_service: open: expected 403, found 200"),
    "double_close_accepted": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: window \S+: second close: expected 409, found 200"),
    "flag_on_in_api": ({"feature_flags"}, r"feature_flags: playwright: api: expected off \(false\), found True"),
    "maintenance_fails": ({"maintenance"}, r"maintenance: python -m madre.maintenance: exit code: expected 0, found 1"),
    "maintenance_loses_rows": ({"maintenance"}, r"maintenance: database after maintenance: row counts: expected none lower than before"),
    "maintenance_stale_map": ({"maintenance"}, r"maintenance: DB map: regenerated: expected rewritten by the command, found the same content"),
    "slow_chat": ({"chat_endpoint"}, r"chat_endpoint: POST /operator/api/chat: p95 latency: expected <= \d+ ms"),
    # madre logs the dropped requests' tracebacks, which the boot gate rightly refuses too.
    "concurrency_resets": ({"e2e_window_lifecycle", "image_boot"}, r"e2e_window_lifecycle: 50 concurrent opens: well-formed 200 answers: expected 50"),
    # The checks of the release-decision issue: whole promises, both sides of each boundary.
    "token_prefix_match": ({"chat_endpoint"}, r"chat_endpoint: \S+ \S+ with the token one (more|less|changed): status: expected 401, found 200"),
    "message_limit_low": ({"chat_endpoint"}, r"chat_endpoint: POST /operator/api/chat with a 16384-byte message: status: expected 200, found 422"),
    "aggregate_always_degraded": ({"service_health"}, r"service_health: tentaculo_link: body\.status with every dependency ok: expected 'ok', found 'degraded'"),
    "ttl_max_refused": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: ttl_sec=3600: status: expected 200, found 422"),
    "window_bad_body_500": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: POST /madre/power/window/open body .*: status: expected 4xx, found 500"),
    "list_includes_closed": ({"e2e_window_lifecycle"}, r"e2e_window_lifecycle: (window \S+: in the open list after close: expected False|/madre/power/windows: every listed window)"),
    "db_map_wrong_counts": ({"maintenance"}, r"maintenance: DB map: row counts: expected the database's"),
    "early_traceback": ({"image_boot"}, r"image_boot: madre: log: expected no ModuleNotFoundError/Traceback, found Traceback"),
    "backups_not_rotated": ({"maintenance"}, r"maintenance: \S*backups: backups kept: expected 1\.\.5 \(newest kept\), found [6-9]"),
    "madre_health_stall": ({"service_health"}, r"service_health: madre: answering /health throughout the run: expected no silence over 2s"),
}


def _check(run: GateRun, expected: set[str], first_line: str) -> None:
    assert run.failing == expected, f"expected exactly {sorted(expected)} to fail\n{run.explain()}"
    lines = [run.gates[g].first_line for g in sorted(expected)]
    assert any(re.search(first_line, line) for line in lines), f"no failure line matches {first_line!r}\n{run.explain()}"
    assert run.rc == 1, f"a broken promise must exit 1\n{run.explain()}"


@pytest.fixture(scope="module")
def lab(tmp_path_factory, worker_id):
    """This worker's own stack place (network namespace, run and data folders)."""
    place = Lab(f"vx11-matrix-{worker_id}-{os.getpid()}", tmp_path_factory.mktemp("lab"))
    yield place
    place.close()


def test_healthy_stack_passes_serial_and_parallel(lab, tmp_path):
    lab.start()
    run = lab.gates(tmp_path, ALL, HOST)
    assert run.rc == 0 and not run.failing, run.explain()
    assert {"db_integrity", "service_health", "secret_scan", "chat_endpoint", "maintenance", "single_entrypoint",
            "feature_flags", "degraded_fallback", "image_boot", "e2e_operator_chat",
            "e2e_window_lifecycle", "e2e_operator_ui"} <= set(run.gates), run.explain()
    parallel = lab.gates(tmp_path, ALL, HOST, "-n", "2")
    assert parallel.rc == 0, parallel.explain()
    assert {g: o.outcome for g, o in parallel.gates.items()} == {g: o.outcome for g, o in run.gates.items()}


def test_one_slow_burst_is_a_warning_not_a_block(lab, tmp_path):
    """A stack slow for one sample only (the host loaded meanwhile): the chat gate measures again,
    passes on the second sample and says so (slow_chat, slow every time, blocks: SWITCHES)."""
    lab.start(env={"VX11_CHAT_SLOW_FIRST": "10"})
    run = lab.gates(tmp_path, ALL, HOST, "-k", "test_chat_requests_all_ok", "-W", "always")
    assert run.gates.get("chat_endpoint") and run.gates["chat_endpoint"].outcome == "passed", run.explain()
    assert re.search(r"chat_endpoint: chat p95 \d{4,} ms over the 1500 ms SLO in a first sample, \d+ ms in a "
                     r"second: recorded, not blocking", run.output), run.explain()


@pytest.mark.parametrize("fault", sorted(SWITCHES))
def test_fault_switch_fails_its_gate(lab, tmp_path, fault):
    expected, first_line = SWITCHES[fault]
    lab.start("--faults", fault)
    # maintenance_stale_map: the map an earlier release's post-task run left behind;
    # backups_not_rotated: earlier post-task runs, so that more than N backups would be kept.
    for _ in range({"maintenance_stale_map": 1, "backups_not_rotated": 6}.get(fault, 0)):
        done = lab.run([sys.executable, "-m", "madre.maintenance"], timeout=120,
                       extra_env={"VX11_DATA_DIR": str(lab.data), "PYTHONPATH": str(REPO / "stack"),
                                  "VX11_FAULTS": fault})
        assert done.returncode == 0, done.stdout + done.stderr
    _check(lab.gates(tmp_path, ALL, HOST), expected, first_line)


# -- deployment faults, made from outside on a throwaway copy of the stack ------

def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, timeout=60)


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    """The reference stack as its own git repository, as a user's stack would be."""
    root = tmp_path / "stack"
    shutil.copytree(REPO / "stack", root, ignore=shutil.ignore_patterns("data", "__pycache__", "*.pyc"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=fault", "-c", "user.email=fault@localhost", "commit", "-qm", "stack")
    return root


def _commit(root: Path, message: str) -> None:
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=fault", "-c", "user.email=fault@localhost", "commit", "-qm", message)


def _gates_on_copy(lab: Lab, root: Path, tmp: Path) -> GateRun:
    """Start the stack from the faulty copy and run every gate against it."""
    lab.start("--root", str(root))
    return lab.gates(tmp, ALL, HOST, f"--stack-root={root}")


def _planted_key() -> str:
    # Assembled at run time so this repository never holds a live-looking key.
    return "AKIA" + "Q7ZL2M4X" + "9WPT3B5K"


def test_tracked_env_file(lab, stack_copy, tmp_path):
    (stack_copy / ".env").write_text("VX11_TOKEN=" + "d41f" * 8 + "\n")
    _commit(stack_copy, "add env")
    _check(_gates_on_copy(lab, stack_copy, tmp_path), {"secret_scan"},
           r"secret_scan: stack repository: tracked \.env files: expected 0, found 1")


def test_key_planted_in_history(lab, stack_copy, tmp_path):
    leak = stack_copy / "madre" / "cloud.py"
    leak.write_text(f'AWS_ACCESS_KEY_ID = "{_planted_key()}"\n')
    _commit(stack_copy, "add cloud client")
    leak.unlink()
    _commit(stack_copy, "remove it again")
    _check(_gates_on_copy(lab, stack_copy, tmp_path), {"secret_scan"},
           r"secret_scan: stack repository: hardcoded secrets: expected 0, found [1-9]")


def test_flag_on_in_config(lab, stack_copy, tmp_path):
    flags = stack_copy / "config" / "flags.toml"
    flags.write_text(flags.read_text().replace("smoke_tests = false", "smoke_tests = true"))
    _commit(stack_copy, "turn smoke tests on")
    _check(_gates_on_copy(lab, stack_copy, tmp_path), {"feature_flags"},
           r"feature_flags: smoke_tests: config config/flags\.toml: expected off \(false\), found True")


def _corrupt_an_index(db: Path) -> None:
    """Overwrite the cells of one secondary index's leaf page: the tables stay readable."""
    with sqlite3.connect(db) as conn:
        name, = conn.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                             "ORDER BY name LIMIT 1").fetchone()
        pages = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name=? AND pagetype='leaf'", (name,))]
        page_size, = conn.execute("PRAGMA page_size").fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with db.open("r+b") as fh:
        fh.seek((pages[-1] - 1) * page_size + page_size // 2)
        fh.write(b"\x00\xff" * (page_size // 8))


def test_corrupted_database_page(lab, stack_copy, tmp_path):
    lab.start("--root", str(stack_copy))  # first start seeds the database
    lab.stop()
    _corrupt_an_index(stack_copy / "data" / "vx11.db")
    run = _gates_on_copy(lab, stack_copy, tmp_path)
    # Maintenance checks integrity first, so it refuses to run on a corrupt database too.
    assert "db_integrity" in run.failing and run.failing <= {"db_integrity", "maintenance"}, run.explain()
    assert re.search(r"db_integrity: database: PRAGMA (quick|integrity)_check: expected \['ok'\]",
                     run.gates["db_integrity"].first_line), run.explain()
