"""The SQLite probe on real files: clean, damaged in four ways, and copied while live.

Every damaged case is checked twice, by the parallel split and by the plain
whole-database PRAGMAs, and the two must reach the same verdict. One case
(free pages dropped from the freelist) is invisible to every per-table
``integrity_check(T)``: it proves the split covers what the partial checks omit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench import make_seed_db as faults
from fixtures.sqlite import probe, runners
from fixtures.sqlite.facts import DbFacts
from fixtures.sqlite.pragmas import estimate_pages
from fixtures.sqlite.probe import ProbeError, SnapshotError

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


def make_db(path: Path, *, wal: bool = False, rows: int = 3000) -> Path:
    """parent <- child (FK, two indexes), a table without index, a freelist from a delete."""
    con = sqlite3.connect(path, isolation_level=None)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.executescript("""
        CREATE TABLE parent(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), v TEXT, n INT);
        CREATE INDEX idx_child_parent ON child(parent_id);
        CREATE INDEX idx_child_v ON child(v);
        CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);
    """)
    con.execute("BEGIN")
    con.executemany("INSERT INTO parent VALUES (?, ?)", [(i, f"p{i}") for i in range(1, 51)])
    con.executemany("INSERT INTO child VALUES (?, ?, ?, ?)",
                    [(i, i % 50 + 1, f"value-{i:06d}-" + "x" * 80, i) for i in range(1, rows + 1)])
    con.executemany("INSERT INTO notes VALUES (?, ?)", [(i, "n" * 300) for i in range(1, 400)])
    con.execute("COMMIT")
    con.execute("DELETE FROM notes WHERE id > 100")          # leaves free pages
    con.close()
    return path


def same_verdict(a: DbFacts, b: DbFacts) -> bool:
    return (a.quick_ok, a.integrity_ok, a.fk_ok, a.checks_passed) == \
        (b.quick_ok, b.integrity_ok, b.fk_ok, b.checks_passed)


@pytest.fixture(autouse=True)
def split_even_small_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test databases are tiny: make the probe split them anyway (the pair plan has its own tests)."""
    monkeypatch.setattr(probe, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runners, "SPLIT_MIN_INDEXES", 0)
    monkeypatch.setattr(runners, "SPLIT_MIN_SHARE", 0)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return make_db(tmp_path / "vx11.db")


# --- check -----------------------------------------------------------------------------------

def test_clean_database_passes_three_of_three(db: Path) -> None:
    facts = probe.check(db, workers=2)
    assert facts.mode == "parallel" and facts.workers == 2
    assert (facts.quick_check, facts.integrity_check, facts.foreign_key_check) == (("ok",), ("ok",), ())
    assert facts.checks_passed == 3
    assert facts.tables == {"parent": 50, "child": 3000, "notes": 100}
    assert (facts.table_count, facts.total_rows, facts.index_count) == (3, 3150, 3)  # + parent's UNIQUE
    assert facts.page_size == 4096 and facts.page_count * 4096 == facts.size_bytes
    assert facts.freelist_count > 0 and facts.journal_mode == "rollback"
    assert set(facts.seconds) >= {"quick_check", "integrity_check", "foreign_key_check", "total"}
    assert json.loads(json.dumps(facts.to_dict()))["checks_passed"] == 3
    assert same_verdict(facts, probe.check(db, workers=1))


def writable_schema_swap(path: Path) -> None:
    """Declare idx_child_v over column n: its b-tree still holds v's values."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA writable_schema=ON")
    con.execute("UPDATE sqlite_schema SET sql='CREATE INDEX idx_child_v ON child(n)' WHERE name='idx_child_v'")
    con.close()


@pytest.mark.parametrize("damage", [writable_schema_swap, lambda p: faults.corrupt_index(p, "idx_child_v")],
                         ids=["writable_schema", "key_bytes"])
def test_index_that_disagrees_with_its_table_fails_integrity(db: Path, damage) -> None:
    damage(db)
    par, whole = probe.check(db, workers=2), probe.check(db, workers=1)
    for facts in (par, whole):
        assert facts.quick_ok, "the b-tree itself is well formed: only the cross check sees it"
        assert not facts.integrity_ok
        assert any("idx_child_v" in line for line in facts.integrity_check), facts.integrity_check
        assert facts.checks_passed == 2
    assert same_verdict(par, whole)


def test_damaged_page_fails_and_quick_check_stops_early(db: Path) -> None:
    faults.corrupt_page(db, "child")
    for workers in (2, 1):
        facts = probe.check(db, workers=workers)
        assert not facts.quick_ok and facts.quick_check[0] != "ok"
        assert facts.integrity_check is None and facts.foreign_key_check is None
        assert facts.checks_passed == 0 and "quick_check failed" in facts.notes[0]
    full_par, full_whole = (probe.check(db, workers=w, quick_first=False) for w in (2, 1))
    assert not full_par.integrity_ok and not full_whole.integrity_ok
    assert same_verdict(full_par, full_whole)


def test_dropped_freelist_is_missed_per_table_but_caught_by_the_split(db: Path) -> None:
    faults.orphan_free_pages(db)
    con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    partial = {t: con.execute(f"PRAGMA integrity_check('{t}')").fetchall()
               for t in ("parent", "child", "notes", "sqlite_schema")}
    whole = con.execute("PRAGMA integrity_check").fetchall()
    con.close()
    assert all(rows == [("ok",)] for rows in partial.values()), "per-table checks cannot see free pages"
    assert "never used" in whole[0][0]
    par = probe.check(db, workers=2, quick_first=False)
    assert not par.integrity_ok and any("never used" in line for line in par.integrity_check)
    assert same_verdict(par, probe.check(db, workers=1, quick_first=False))


def test_foreign_key_violation_is_reported(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("INSERT INTO child VALUES (9001, 999, 'orphan', 1)")
    con.close()
    par, whole = probe.check(db, workers=2), probe.check(db, workers=1)
    for facts in (par, whole):
        assert facts.integrity_ok
        assert facts.foreign_key_check == ({"table": "child", "rowid": 9001, "parent": "parent", "fkid": 0},)
        assert facts.checks_passed == 2
    assert same_verdict(par, whole)


def test_many_violations_are_capped_with_a_note(db: Path) -> None:
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("UPDATE child SET parent_id = parent_id + 1000 WHERE id <= 1500")
    con.close()
    for workers in (2, 1):
        facts = probe.check(db, workers=workers)
        assert len(facts.foreign_key_check) == probe.MAX_FK_ROWS and facts.checks_passed == 2
        assert any("first 1000 kept" in note for note in facts.notes)


def test_odd_names_and_virtual_tables(tmp_path: Path) -> None:
    con = sqlite3.connect(tmp_path / "odd.db", isolation_level=None)
    con.executescript("""
        CREATE TABLE "we'ird ""name"(id INTEGER PRIMARY KEY, v TEXT UNIQUE);
        CREATE INDEX "idx odd" ON "we'ird ""name"(v DESC);
        CREATE TABLE kv(k TEXT PRIMARY KEY, v) WITHOUT ROWID;
        CREATE VIRTUAL TABLE docs USING fts5(body);
        INSERT INTO "we'ird ""name"(v) VALUES ('a'), ('b');
        INSERT INTO kv VALUES ('x', 1);
        INSERT INTO docs VALUES ('hello world');
    """)
    con.close()
    par, whole = probe.check(tmp_path / "odd.db", workers=2), probe.check(tmp_path / "odd.db", workers=1)
    assert par.checks_passed == whole.checks_passed == 3
    assert par.tables == whole.tables
    assert par.tables["we'ird \"name"] == 2 and par.tables["kv"] == 1 and par.tables["docs"] == 1


def test_not_a_database_is_a_finding_and_a_missing_file_an_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 500)
    facts = probe.check(junk, workers=2)
    assert facts.checks_passed == 0 and "not a database" in facts.quick_check[0]
    with pytest.raises(ProbeError, match="no such file"):
        probe.check(tmp_path / "missing.db")


def test_size_estimate_is_in_the_right_range(tmp_path: Path) -> None:
    db = make_db(tmp_path / "big.db", rows=40_000)
    con = sqlite3.connect(db)
    actual = con.execute("SELECT count(*) FROM dbstat WHERE name='child'").fetchone()[0]
    root = con.execute("SELECT rootpage FROM sqlite_schema WHERE name='child'").fetchone()[0]
    con.close()
    with open(db, "rb") as fh:
        guess = estimate_pages(fh, root, 4096)
    assert actual / 3 <= guess <= actual * 3, (guess, actual)


@pytest.mark.parametrize("damage", ["none", "index", "page", "freelist", "fk"])
def test_pair_plan_reaches_the_whole_checks_verdict(db: Path, damage: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pair plan (whole integrity_check beside foreign_key_check) on each fault, against one worker."""
    monkeypatch.setattr(runners, "SPLIT_MAX_TABLES", 0)
    if damage == "index":
        faults.corrupt_index(db, "idx_child_v")
    elif damage == "page":
        faults.corrupt_page(db, "child")
    elif damage == "freelist":
        faults.orphan_free_pages(db)
    elif damage == "fk":
        faults.add_fk_violation(db, "child", "parent_id")
    pair, whole = probe.check(db, workers=2, quick_first=False), probe.check(db, workers=1, quick_first=False)
    assert pair.mode == "pair" and same_verdict(pair, whole), (pair, whole)
    assert (pair.checks_passed == 3) is (damage == "none")
    if damage == "none":
        assert any("quick_check: not run on its own" in n for n in pair.notes)
    else:
        assert pair.tables == whole.tables or not pair.quick_ok


# --- snapshot --------------------------------------------------------------------------------

def fingerprint(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size, hashlib.sha256(path.read_bytes()).hexdigest()


def test_snapshot_while_a_wal_writer_holds_a_transaction(tmp_path: Path) -> None:
    live = make_db(tmp_path / "live.db", wal=True)
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.executemany("INSERT INTO notes(body) VALUES (?)", [("uncommitted" * 50,)] * 500)
    before = fingerprint(live)
    try:
        snap = probe.snapshot(live, tmp_path / "snap.db", timeout=10, pages=8)
        assert fingerprint(live) == before, "the live file was written"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    facts = probe.check(snap, workers=2)
    assert facts.checks_passed == 3 and facts.tables["notes"] == 100    # committed rows only
    assert facts.journal_mode == "wal"
    assert not (tmp_path / "snap.db.part").exists()


def test_snapshot_while_a_rollback_writer_holds_a_reserved_lock(tmp_path: Path) -> None:
    live = make_db(tmp_path / "live.db")
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO notes(body) VALUES ('pending')")
    before = fingerprint(live)
    try:
        snap = probe.snapshot(live, tmp_path / "snap.db", timeout=10)
        assert fingerprint(live) == before
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert probe.check(snap, workers=1).checks_passed == 3


def test_snapshot_completes_while_commits_keep_restarting_it(tmp_path: Path) -> None:
    live = make_db(tmp_path / "live.db", wal=True, rows=20_000)
    stop = threading.Event()

    def commits() -> None:
        con = sqlite3.connect(live, isolation_level=None)
        while not stop.is_set():
            con.execute("INSERT INTO notes(body) VALUES ('tick')")
        con.close()

    thread = threading.Thread(target=commits)
    thread.start()
    try:   # 1-page steps cannot finish between commits: the copy must switch to bigger steps
        snap = probe.snapshot(live, tmp_path / "snap.db", timeout=30, pages=1)
    finally:
        stop.set()
        thread.join()
    facts = probe.check(snap, workers=1)
    assert facts.checks_passed == 3 and facts.tables["notes"] >= 100


def test_snapshot_times_out_on_an_exclusive_lock(tmp_path: Path) -> None:
    live = make_db(tmp_path / "live.db")
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(SnapshotError, match="cannot snapshot .*(not done after|locked)"):
            probe.snapshot(live, tmp_path / "snap.db", timeout=0.5)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert not (tmp_path / "snap.db").exists() and not (tmp_path / "snap.db.part").exists()


def test_snapshot_waits_out_a_short_exclusive_lock(tmp_path: Path) -> None:
    live = make_db(tmp_path / "live.db")
    writer = sqlite3.connect(live, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.3, lambda: writer.execute("ROLLBACK"))
    release.start()
    try:
        snap = probe.snapshot(live, tmp_path / "snap.db", timeout=10)
    finally:
        release.join()
        writer.close()
    assert probe.check(snap, workers=2).checks_passed == 3


def test_snapshot_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"cannot snapshot .*missing\.db: no such file"):
        probe.snapshot(tmp_path / "missing.db", tmp_path / "snap.db", timeout=5)
    assert not (tmp_path / "missing.db").exists(), "a read-only open must not create the file"


@pytest.mark.skipif(SYSTEM_PYTHON is None, reason="needs a system python3, as in the service images")
def test_snapshot_script_runs_standalone(tmp_path: Path) -> None:
    live = make_db(tmp_path / "live.db", wal=True)
    dest = tmp_path / "copy.db"
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-c", probe.snapshot_script(), str(live), str(dest)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert probe.check(dest, workers=1).checks_passed == 3
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-c", probe.snapshot_script(), str(tmp_path / "nope.db"),
                           str(dest) + "2"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"snapshot of {tmp_path / 'nope.db'} failed: FileNotFoundError: {tmp_path / 'nope.db'}: no such file"]


# --- command line ----------------------------------------------------------------------------

def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fixtures.sqlite", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_cli_exit_codes_and_json(db: Path, tmp_path: Path) -> None:
    done = cli(str(db), "--json", "--workers", "2")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["checks_passed"] == 3 and out["path"] == str(db) and out["total_rows"] == 3150
    assert out["mode"] == "whole", "a file this small is not worth splitting"
    faults.add_fk_violation(db, "child", "parent_id")
    done = cli(str(db))
    assert done.returncode == 1 and "checks passed: 2/3" in done.stdout
    assert "foreign_key_check: FAILED (1)" in done.stdout
    done = cli(str(tmp_path / "missing.db"))
    assert done.returncode == 3 and "could not look" in done.stderr and "no such file" in done.stderr
