"""check_live on real files with real writer processes: one consistent view, the writer never blocked.

The writer is a separate process committing as fast as it can. Each of its
transactions inserts one row into ``a`` and one into ``b``, so any consistent
view has ``count(a) == count(b)``; the probe counts them on its worker
connections, so a check that mixed two snapshots (or read a half-written
file) would see them differ. A WAL writer runs with ``busy_timeout=0``: if the
check ever made it wait for a lock, it would fail at once and say so.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench import make_seed_db as faults
from fixtures.sqlite import live, probe, runners, snapcopy
from fixtures.sqlite.probe import ProbeError

ROOT = Path(__file__).resolve().parent.parent

WRITER = r"""
import json, sqlite3, sys, time
path, seconds, busy_ms = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
con = sqlite3.connect(path, isolation_level=None)
con.execute(f"PRAGMA busy_timeout={busy_ms}")
commits, worst, errors, end = 0, 0.0, [], time.monotonic() + seconds
print("ready", flush=True)
while time.monotonic() < end:
    start = time.monotonic()
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO a(v) VALUES (randomblob(200))")
        con.execute("INSERT INTO b(v) VALUES (randomblob(200))")
        con.execute("COMMIT")
        commits += 1
    except sqlite3.Error as exc:
        errors.append(str(exc))
        if con.in_transaction:
            con.execute("ROLLBACK")
    worst = max(worst, time.monotonic() - start)
    time.sleep(0.002)
print(json.dumps({"commits": commits, "worst": worst, "errors": errors[:5], "n_errors": len(errors)}))
"""


def make_live(path: Path, *, wal: bool, rows: int = 60_000) -> Path:
    """Tables a and b (equal counts), a child table with an index and a foreign key, big enough to take a while."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
    con.executescript("""
        CREATE TABLE a(id INTEGER PRIMARY KEY, v BLOB);
        CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB);
        CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT UNIQUE);
        CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), v TEXT);
        CREATE INDEX idx_child_v ON child(v);
        CREATE INDEX idx_child_parent ON child(parent_id);
    """)
    con.execute("BEGIN")
    con.executemany("INSERT INTO parent VALUES (?, ?)", [(i, f"p{i}") for i in range(1, 101)])
    con.executemany("INSERT INTO child VALUES (?, ?, ?)",
                    [(i, i % 100 + 1, f"value-{i:07d}-" + "y" * 120) for i in range(1, rows + 1)])
    con.executemany("INSERT INTO a(v) VALUES (?)", [(b"x" * 50,)] * 10)
    con.executemany("INSERT INTO b(v) VALUES (?)", [(b"x" * 50,)] * 10)
    con.execute("COMMIT")
    con.close()
    return path


class Writer:
    """A writer process committing into a and b for ``seconds``."""

    def __init__(self, db: Path, seconds: float, busy_ms: int) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(seconds), str(busy_ms)],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def result(self) -> dict:
        out, _ = self.proc.communicate(timeout=60)
        return json.loads(out)


@pytest.fixture(autouse=True)
def split_even_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(live, "PARALLEL_MIN_BYTES", 0)


def fingerprint(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("plan", ["parallel", "pair"])
def test_wal_checked_in_place_while_a_writer_process_commits(tmp_path: Path, plan: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    if plan == "parallel":      # the per-table split, which this small schema would not pay for
        monkeypatch.setattr(runners, "SPLIT_MIN_INDEXES", 0)
        monkeypatch.setattr(runners, "SPLIT_MIN_SHARE", 0)
    else:
        monkeypatch.setattr(runners, "SPLIT_MAX_TABLES", 0)
    db = make_live(tmp_path / "live.db", wal=True)
    writer = Writer(db, seconds=4.0, busy_ms=0)       # any wait for a lock fails at once
    time.sleep(0.3)
    facts = [live.check_live(db, workers=2) for _ in range(3)]
    done = writer.result()
    assert done["n_errors"] == 0, f"the writer was blocked: {done['errors']}"
    assert done["commits"] > 50 and done["worst"] < 0.5, done
    for f in facts:
        assert f.method.startswith("in place: 2 read transactions on one WAL snapshot"), f.method
        assert f.checks_passed == 3 and f.mode == plan, f
        assert f.tables["a"] == f.tables["b"], f"two snapshots mixed: {f.tables}"
    assert len({f.tables["a"] for f in facts}) > 1, "the writer committed nothing between the checks"


def test_wal_snapshot_is_one_even_when_commits_land_between_the_begins(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_live(tmp_path / "live.db", wal=True, rows=2000)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("SELECT count(*) FROM a").fetchone()     # the database is open: its -wal is there
    real_begin, calls = live._begin, []

    def begin_with_a_commit_between(cons: list[sqlite3.Connection]) -> None:
        calls.append(len(cons))
        cons[0].execute("BEGIN")
        cons[0].execute("SELECT count(*) FROM sqlite_schema").fetchone()
        if len(calls) <= 2:   # the first two tries: a commit lands between the first worker's begin and the next
            writer.execute("INSERT INTO a(v) VALUES (1)")
        real_begin(cons[1:])

    monkeypatch.setattr(live, "_begin", begin_with_a_commit_between)
    try:
        facts = live.check_live(db, workers=2)
    finally:
        writer.close()
    assert calls[:3] == [2, 2, 2] and "attempt 3" in facts.method, (calls, facts.method)
    assert facts.tables["a"] == 12 and facts.tables["b"] == 10 and facts.checks_passed == 3


def blob_heavy(path: Path, *, wal: bool) -> Path:
    """Most pages are overflow pages: a check reads little more than the b-trees, so no copy is made."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}")
    con.execute("CREATE TABLE a(id INTEGER PRIMARY KEY, v BLOB)")
    con.execute("CREATE TABLE b(id INTEGER PRIMARY KEY, v BLOB)")
    con.executemany("INSERT INTO a(v) VALUES (randomblob(?))", [(200_000,)] * 40)
    con.executemany("INSERT INTO b(v) VALUES (randomblob(?))", [(200_000,)] * 40)
    con.close()
    return path


def test_rollback_file_with_a_one_pass_plan_is_checked_in_place_unlocked(tmp_path: Path) -> None:
    db = make_live(tmp_path / "live.db", wal=False)
    before = fingerprint(db)
    facts = live.check_live(db, workers=2, workdir=tmp_path)
    assert facts.method.startswith("in place, unlocked (rollback journal)"), facts.method
    assert facts.checks_passed == 3 and facts.journal_mode == "rollback" and facts.path == str(db)
    assert fingerprint(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "nothing left beside it"


def test_index_heavy_rollback_file_is_checked_in_place_under_a_shared_lock(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_live(tmp_path / "live.db", wal=False)
    monkeypatch.setattr(live, "_split_pays", lambda db, schema, **_: True)   # as if its plan were the per-table split
    before = fingerprint(db)
    facts = live.check_live(db, workers=2, workdir=tmp_path)
    assert facts.method.startswith("in place under a SHARED lock, held"), facts.method
    assert facts.checks_passed == 3 and facts.journal_mode == "rollback" and facts.path == str(db)
    assert facts.workers == 2, facts.workers
    assert fingerprint(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "nothing left beside it"


@pytest.mark.parametrize("wal", [False, True], ids=["rollback", "idle-wal"])
def test_blob_heavy_file_checked_in_place(tmp_path: Path, wal: bool) -> None:
    db = blob_heavy(tmp_path / "live.db", wal=wal)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"]
    before = fingerprint(db)
    facts = live.check_live(db, workers=2)
    # a rollback file is read through mmap under the lock; an idle WAL file cannot be locked: unlocked, pread
    way = "in place, unlocked (WAL file nobody has open)" if wal else "in place under a SHARED lock, held"
    assert facts.method.startswith(way), facts.method
    assert facts.checks_passed == 3 and facts.tables == {"a": 40, "b": 40}
    assert fingerprint(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "no -journal, -wal or -shm left behind"


def test_idle_wal_file_is_checked_unlocked_and_left_as_found(tmp_path: Path) -> None:
    db = make_live(tmp_path / "live.db", wal=True)      # closed: SQLite removed its -wal and -shm
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"]
    before = fingerprint(db)
    facts = live.check_live(db, workers=2)
    assert facts.method.startswith("in place, unlocked (WAL file nobody has open)"), facts.method
    assert facts.checks_passed == 3 and facts.journal_mode == "wal"
    assert fingerprint(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "no -wal or -shm left behind"


def test_index_heavy_idle_wal_file_is_copied_and_left_as_found(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_live(tmp_path / "live.db", wal=True)
    monkeypatch.setattr(live, "_split_pays", lambda db, schema, **_: True)
    before = fingerprint(db)
    facts = live.check_live(db, workers=2)
    assert facts.method.startswith("copied at file speed") and "nobody has open" in facts.method, facts.method
    assert fingerprint(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "no -wal or -shm left behind"


def test_rollback_writer_committing_during_the_check_waits_for_the_shared_lock(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_live(tmp_path / "live.db", wal=False, rows=120_000)
    monkeypatch.setattr(live, "_split_pays", lambda db, schema, **_: True)
    writer = Writer(db, seconds=4.0, busy_ms=10_000)
    time.sleep(0.3)
    facts = live.check_live(db, workers=2, workdir=tmp_path)
    done = writer.result()
    assert facts.method.startswith("in place under a SHARED lock, held"), facts.method
    assert facts.checks_passed == 3 and facts.tables["a"] == facts.tables["b"], facts.tables
    assert done["n_errors"] == 0 and done["commits"] > 20, done
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "nothing of ours is left beside it"


def test_unlocked_check_is_void_when_a_writer_commits_meanwhile(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    db = make_live(tmp_path / "live.db", wal=False, rows=120_000)
    monkeypatch.setattr(live, "_way", lambda db, con: ("unlocked", None))
    writer = Writer(db, seconds=4.0, busy_ms=10_000)
    time.sleep(0.3)
    facts = live.check_live(db, workers=2, workdir=tmp_path)
    done = writer.result()
    assert facts.method.startswith("in place under a SHARED lock, held"), facts.method
    assert facts.method.endswith("the unlocked check was void: a writer changed the file meanwhile")
    assert facts.checks_passed == 3 and facts.tables["a"] == facts.tables["b"], facts.tables
    assert done["n_errors"] == 0 and done["commits"] > 20, done


COMMIT_ONCE = r"""
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=0)
try:
    con.execute("INSERT INTO a(v) VALUES (2)")
    print("committed")
except sqlite3.OperationalError as exc:
    print(exc)
"""


def try_to_commit(db: Path) -> str:
    """One insert from another process, with no wait for the lock: "committed", or SQLite's words
    (``database is locked``). Another process: inside this one, SQLite's own bookkeeping of its
    connections' locks would refuse the commit even if the process had lost its POSIX lock."""
    return subprocess.run([sys.executable, "-c", COMMIT_ONCE, str(db)], capture_output=True, text=True,
                          timeout=30, check=True).stdout.strip()


def split(monkeypatch: pytest.MonkeyPatch, plan: str) -> None:
    """The way and plan of an index-heavy file on this small one: under the lock, split per table or paired."""
    monkeypatch.setattr(live, "_split_pays", lambda db, schema, **_: True)
    if plan == "parallel":                    # the per-table split also sizes every b-tree through the descriptor
        monkeypatch.setattr(runners, "SPLIT_MIN_INDEXES", 0)
        monkeypatch.setattr(runners, "SPLIT_MIN_SHARE", 0)


@pytest.mark.parametrize("plan", ["parallel", "pair"])
def test_the_shared_lock_lasts_the_whole_check_and_no_longer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            plan: str) -> None:
    """No writer can commit from the first read to the last, nor after every worker connection and the
    check's own reads of the file are closed (closing a descriptor would drop a POSIX lock); after it, one can."""
    db = make_live(tmp_path / "live.db", wal=False, rows=2000)
    split(monkeypatch, plan)
    seen: list[str] = []
    real_header, real_checked = probe._header, live.checked

    def header_while_a_writer_tries(path: str, fh: object = None) -> tuple[int, str]:
        seen.append("header: " + try_to_commit(db))
        return real_header(path, fh)

    def checked_then_a_writer_tries(*args: object, **kwargs: object) -> object:
        facts = real_checked(*args, **kwargs)        # its connections are closed when it returns
        seen.append("after: " + try_to_commit(db))
        return facts

    monkeypatch.setattr(probe, "_header", header_while_a_writer_tries)
    monkeypatch.setattr(live, "checked", checked_then_a_writer_tries)
    facts = live.check_live(db, workers=2)
    assert facts.method.startswith("in place under a SHARED lock"), facts.method
    assert facts.mode == plan, facts.mode
    assert seen == ["header: database is locked", "after: database is locked"], seen
    assert try_to_commit(db) == "committed", "the lock outlived the check"
    assert facts.checks_passed == 3 and facts.tables["a"] == 10


@pytest.mark.parametrize("plan", ["parallel", "pair"])
def test_a_lost_shared_lock_is_could_not_look(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan: str) -> None:
    """If the file changed under the check after all (here: a descriptor of it closed, dropping the lock,
    and a writer committed), the check is void, never a verdict on a mixed view."""
    db = make_live(tmp_path / "live.db", wal=False, rows=2000)
    split(monkeypatch, plan)
    real_checked = live.checked

    def checked_then_the_lock_is_lost(*args: object, **kwargs: object) -> object:
        facts = real_checked(*args, **kwargs)
        with open(db, "rb"):
            pass                                     # this close drops the process's locks on the file
        assert try_to_commit(db) == "committed"
        return facts

    monkeypatch.setattr(live, "checked", checked_then_the_lock_is_lost)
    with pytest.raises(probe.SnapshotError, match="changed under the check"):
        live.check_live(db, workers=2)


def test_the_unlocked_checks_stamps_are_read_under_a_shared_lock(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The stamps before and after the unlocked check are read while a writer cannot commit (the lock is
    taken without reading the schema), and the lock is gone when the check is done."""
    db = make_live(tmp_path / "live.db", wal=False, rows=2000)
    seen: list[str] = []
    real_peek = live._peek

    def peek_while_a_writer_tries(path: Path) -> object:
        if threading.current_thread() is threading.main_thread():   # not the watcher's polls
            seen.append(try_to_commit(db))
        return real_peek(path)

    real_live, caches = snapcopy._live, []

    def lock_only(path: Path, timeout: float, cache: bool = True) -> sqlite3.Connection:
        caches.append(cache)
        return real_live(path, timeout, cache=cache)

    monkeypatch.setattr(live, "_peek", peek_while_a_writer_tries)
    monkeypatch.setattr(snapcopy, "_live", lock_only)
    facts = live.check_live(db, workers=2)
    assert caches == [False, False], "a lock-only connection set its cache size (which reads the schema)"
    assert facts.method.startswith("in place, unlocked (rollback journal)"), facts.method
    assert seen == ["database is locked", "database is locked"], seen
    assert try_to_commit(db) == "committed", "the lock outlived the check"
    assert facts.checks_passed == 3


@pytest.mark.parametrize("wal", [False, True], ids=["rollback", "wal"])
def test_truncated_file_fails_with_sqlites_own_words(tmp_path: Path, wal: bool) -> None:
    db = make_live(tmp_path / "live.db", wal=wal, rows=5000)
    holder = sqlite3.connect(db) if wal else None       # a live WAL database: a -wal is there
    if holder:
        holder.execute("SELECT 1 FROM a").fetchone()
    size = db.stat().st_size
    os.truncate(db, size // 2)
    try:
        facts = live.check_live(db, workers=2)
    finally:
        if holder:
            holder.close()
    assert facts.quick_check == ("error: database disk image is malformed",), facts
    assert not facts.quick_ok and facts.checks_passed == 0


def test_truncated_file_through_the_backup_snapshot_is_a_finding_too(tmp_path: Path) -> None:
    db = make_live(tmp_path / "live.db", wal=False, rows=5000)
    os.truncate(db, db.stat().st_size // 2)
    snap = probe.snapshot(db, tmp_path / "snap.db", timeout=10)     # before: SnapshotError, "could not look"
    facts = probe.check(snap, workers=2)
    assert facts.quick_check == ("error: database disk image is malformed",) and facts.checks_passed == 0


def test_unreachable_files_are_could_not_look(tmp_path: Path) -> None:
    with pytest.raises(ProbeError, match="no such file"):
        live.check_live(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(ProbeError, match="Is a directory|not a regular file"):
        live.check_live(tmp_path)


def test_other_faults_match_the_sqlite3_shell(tmp_path: Path) -> None:
    """The verdicts the CLI reaches, through check_live: a corrupted index, a damaged page, a dropped freelist."""
    for damage, expect_quick in ((lambda p: faults.corrupt_index(p, "idx_child_v"), True),
                                 (lambda p: faults.corrupt_page(p, "child"), False)):
        db = make_live(tmp_path / "f.db", wal=False, rows=5000)
        damage(db)
        facts = live.check_live(db, workers=2, quick_first=False)
        assert facts.quick_ok is expect_quick and not facts.integrity_ok, facts
        db.unlink()


def test_cli_reports_a_truncated_file_as_a_broken_promise(tmp_path: Path) -> None:
    db = make_live(tmp_path / "live.db", wal=False, rows=3000)
    os.truncate(db, db.stat().st_size // 2)
    done = subprocess.run([sys.executable, "-m", "fixtures.sqlite", str(db)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "database disk image is malformed" in done.stdout and "checks passed: 0/3" in done.stdout
    done = subprocess.run([sys.executable, "-m", "fixtures.sqlite", str(tmp_path / "gone.db")], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "could not look" in done.stderr


@pytest.mark.parametrize("many", [False, True], ids=["few-tables", "many-tables"])
def test_wal_workers_read_many_small_tables_with_pread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       many: bool) -> None:
    """Past SPLIT_MAX_TABLES tables the plan reads each page about once: the WAL workers read without mmap."""
    db = make_live(tmp_path / "live.db", wal=True, rows=2000)
    if many:
        monkeypatch.setattr(live, "SPLIT_MAX_TABLES", 3)          # the file has 4 tables
    real_begin, maps = live._begin, []

    def spy(cons: list[sqlite3.Connection]) -> None:
        maps.extend(con.execute("PRAGMA mmap_size").fetchone()[0] for con in cons)
        real_begin(cons)

    monkeypatch.setattr(live, "_begin", spy)
    holder = sqlite3.connect(db)
    try:
        holder.execute("SELECT count(*) FROM a").fetchone()        # open: the -wal is there
        facts = live.check_live(db, workers=2)
    finally:
        holder.close()
    assert facts.method.startswith("in place: 2 read transactions on one WAL snapshot"), facts.method
    assert facts.checks_passed == 3
    assert len(maps) == 2 and all((size == 0) == many for size in maps), maps


CRASH_MID_TRANSACTION = r"""
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size=10")                  # a tiny cache: the change spills into the file
con.execute("BEGIN")
con.execute("UPDATE child SET v = v || 'z'")
os._exit(0)                                          # no commit, no rollback: a hot journal is left
"""


def test_a_hot_journal_is_could_not_look_with_the_reason(tmp_path: Path) -> None:
    db = make_live(tmp_path / "live.db", wal=False, rows=20_000)
    subprocess.run([sys.executable, "-c", CRASH_MID_TRANSACTION, str(db)], check=True, timeout=60)
    assert (tmp_path / "live.db-journal").stat().st_size > 0
    before = fingerprint(db)
    with pytest.raises(probe.SnapshotError, match="hot journal"):
        live.check_live(db, workers=2)
    assert fingerprint(db) == before, "the gate rolled nothing back itself"


def test_a_file_switched_to_wal_before_the_lock_is_read_as_an_idle_wal_file(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The way was judged on a rollback file; just before the lock is taken it becomes an idle WAL file: it is
    not read under that lock (the workers would ignore the WAL) but as an idle WAL file is, and the unlocked
    check's void is still said."""
    db = make_live(tmp_path / "live.db", wal=False, rows=2000)
    monkeypatch.setattr(live, "_way", lambda db, con: ("unlocked", None))
    stamps = iter(range(10))
    monkeypatch.setattr(live, "_locked_peek", lambda db, timeout: next(stamps))   # a new stamp after: void
    real_in_shared = live._in_shared

    def switch_then_lock(path: Path, *args: object) -> object:
        switch = sqlite3.connect(db, isolation_level=None)
        switch.execute("PRAGMA journal_mode=WAL")
        switch.close()                               # the last connection: -wal and -shm removed
        return real_in_shared(path, *args)

    monkeypatch.setattr(live, "_in_shared", switch_then_lock)
    facts = live.check_live(db, workers=2, workdir=tmp_path)
    assert "nobody has open" in facts.method and facts.method.endswith("changed the file meanwhile"), facts.method
    assert facts.checks_passed == 3 and facts.journal_mode == "wal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.db"], "no -wal or -shm left behind"
