"""A seed-shaped VX11 database, clean or with one seeded fault.

The seed's forensic baseline (FASE 0) describes madre's live database as
590.98 MB, 73 tables, 1,149,987 rows, 3/3 PRAGMA checks clean. This builds a
database of that shape: 13 core tables (sessions, chat messages, model calls,
power windows, events, audit log, tasks, metrics, feature flags...) and 60
module tables in four families (builder, colonia, inee, operator), with
foreign keys, secondary indexes, a few UNIQUE and CHECK constraints, one
WITHOUT ROWID table, rows large enough to spill onto overflow pages, and a
freelist left by a retention delete. Row counts follow a skewed distribution:
a handful of tables hold most of the data, as in a real service database.

``--scale`` multiplies every row count (0.1 -> ~60 MB, 1 -> ~600 MB, 10 ->
~6 GB). The file is cached (``/tmp/vx11-bench`` by default) and reused when a
file of the same generator version and scale is there.

The fault helpers (:func:`corrupt_index`, :func:`corrupt_page`,
:func:`orphan_free_pages`, :func:`add_fk_violation`) damage a file in place;
callers give them a copy. They exist for the self-tests and the benchmark.

    python -m bench.make_seed_db --size 600MB [--out PATH] [--force]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import struct
import time
from dataclasses import dataclass
from pathlib import Path

GEN_VERSION = 5                     # bump when the shape changes: cached files are rebuilt
SEED_ROWS = 1_149_987               # the seed baseline's row count, at scale 1
SIZES = {"6MB": 0.01, "60MB": 0.1, "600MB": 1.0, "6GB": 10.0}
DEFAULT_DIR = Path("/tmp/vx11-bench")
EPOCH = 1_766_966_400.0             # 2025-12-29, the seed's closeout day
SERVICES = ("tentaculo_link", "madre", "switch", "spawner", "redis")
FAMILIES = ("builder", "colonia", "inee", "operator")
FAMILY_CHILDREN = ("specs", "requirements", "documents", "revisions", "reviews", "assets",
                   "runs", "findings", "comments", "tags", "links", "snapshots", "exports",
                   "approvals")


@dataclass(frozen=True)
class Table:
    name: str
    ddl: str
    rows: int                       # at scale 1
    indexes: tuple[str, ...] = ()
    scaled: bool = True
    without_rowid: bool = False


def _core() -> list[Table]:
    """The 13 core tables: what madre keeps for the gateway, chat, windows and tasks."""
    return [
        Table("services", "id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, port INTEGER NOT NULL, "
              "policy TEXT NOT NULL CHECK (policy IN ('required','optional')), created_at REAL", 5,
              scaled=False),
        Table("feature_flags", "name TEXT PRIMARY KEY, enabled INTEGER NOT NULL DEFAULT 0, updated_at REAL",
              3, scaled=False, without_rowid=True),
        Table("sessions", "id INTEGER PRIMARY KEY, session_key TEXT NOT NULL UNIQUE, user_agent TEXT, "
              "created_at REAL NOT NULL, last_seen REAL, meta TEXT", 20_000, ("last_seen",)),
        Table("chat_messages", "id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id), "
              "role TEXT NOT NULL, content TEXT NOT NULL, tokens INTEGER, request_id TEXT, "
              "created_at REAL NOT NULL", 240_000, ("session_id, created_at", "request_id")),
        Table("model_calls", "id INTEGER PRIMARY KEY, message_id INTEGER REFERENCES chat_messages(id), "
              "service TEXT NOT NULL REFERENCES services(name), model TEXT, prompt TEXT, response TEXT, "
              "latency_ms REAL, status TEXT, created_at REAL NOT NULL", 120_000,
              ("message_id", "service, created_at")),
        Table("power_windows", "id INTEGER PRIMARY KEY, window_uuid TEXT NOT NULL UNIQUE, "
              "service TEXT NOT NULL REFERENCES services(name), ttl_sec INTEGER NOT NULL, opened_at REAL, "
              "deadline REAL, closed_at REAL, state TEXT NOT NULL", 15_000, ("state, deadline",)),
        Table("window_events", "id INTEGER PRIMARY KEY, window_id INTEGER NOT NULL REFERENCES power_windows(id), "
              "kind TEXT NOT NULL, at REAL NOT NULL, detail TEXT", 45_000, ("window_id",)),
        Table("events", "id INTEGER PRIMARY KEY, service_id INTEGER REFERENCES services(id), kind TEXT NOT NULL, "
              "payload TEXT, created_at REAL NOT NULL", 300_000, ("kind, created_at", "service_id")),
        Table("audit_log", "id INTEGER PRIMARY KEY, actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT, "
              "detail TEXT, created_at REAL NOT NULL", 150_000, ("created_at", "actor, action")),
        Table("tasks", "id INTEGER PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, spec TEXT, "
              "created_at REAL NOT NULL", 5_000, ("status",)),
        Table("task_runs", "id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id), "
              "started_at REAL, finished_at REAL, rc INTEGER, log TEXT", 40_000, ("task_id, started_at",)),
        Table("metrics", "id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id), "
              "name TEXT NOT NULL, value REAL, at REAL NOT NULL", 120_000, ("name, at",)),
        Table("backups", "id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, size_bytes INTEGER, "
              "sha256 TEXT, created_at REAL NOT NULL", 200),
    ]


def _modules(rows_left: int) -> list[Table]:
    """60 module tables; together they hold what the core tables leave of the seed's row count."""
    weights = [1.0 / (k + 2) for k in range(len(FAMILIES) * (1 + len(FAMILY_CHILDREN)))]
    shares = [max(10, int(rows_left * w / sum(weights))) for w in weights]
    shares[0] += rows_left - sum(shares)               # exact total at scale 1
    out, k = [], 0
    for fam in FAMILIES:
        out.append(Table(f"{fam}_projects", "id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, owner TEXT, "
                         "status TEXT NOT NULL, created_at REAL NOT NULL", shares[k]))
        k += 1
        prev = None
        for child in FAMILY_CHILDREN:
            ref = f", ref_id INTEGER REFERENCES {fam}_{prev}(id)" if prev else ""
            out.append(Table(
                f"{fam}_{child}",
                f"id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES {fam}_projects(id){ref}, "
                "name TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('new','open','done','failed')), "
                "score REAL, data TEXT, created_at REAL NOT NULL, updated_at REAL",
                shares[k], ("project_id", "status, created_at")))
            prev, k = child, k + 1
    return out


def tables() -> list[Table]:
    core = _core()
    out = core + _modules(SEED_ROWS - sum(t.rows for t in core))
    assert len(out) == 73 and sum(t.rows for t in out) == SEED_ROWS
    return out


def row_count(table: Table, scale: float) -> int:
    return table.rows if not table.scaled else max(1, round(table.rows * scale))


class _Text:
    """Cheap pseudo-prose: slices of one big random word soup."""

    WORDS = ("madre switch ventana sesión token degraded fallback health ok error retry window "
             "ttl open closed expired gateway operator chat request reply model latency builder "
             "colonia inee spec review run finding asset link export approval lorem ipsum dolor "
             "sit amet {\"k\": 1, \"v\": [1, 2, 3]} 2025-12-29T01:00:00Z /madre/power/window").split()

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.soup = " ".join(rng.choice(self.WORDS) for _ in range(400_000))

    def __call__(self, mean: int) -> str:
        n = max(8, int(self.rng.expovariate(1.0 / mean)))
        if n > len(self.soup) // 2:
            n = len(self.soup) // 2
        at = self.rng.randrange(len(self.soup) - n)
        return self.soup[at:at + n]


def _rows(t: Table, ids: range, counts: dict[str, int], text: _Text, rng: random.Random) -> list[tuple]:
    """Row tuples for table ``t``; every foreign key points at an existing parent."""
    r, ts = rng.random, EPOCH
    pick = lambda parent: rng.randint(1, counts[parent])  # noqa: E731
    if t.name == "services":
        return [(i + 1, s, 8000 + i if s != "redis" else 6379,
                 "optional" if s in ("switch", "spawner") else "required", ts) for i, s in enumerate(SERVICES)]
    if t.name == "feature_flags":
        return [(f, 0, ts) for f in ("playwright", "deepseek_runtime", "smoke_tests")]
    if t.name == "sessions":
        return [(i, f"sess-{i:08d}-{rng.getrandbits(32):08x}", text(60), ts - r() * 9e6, ts - r() * 1e5,
                 text(120)) for i in ids]
    if t.name == "chat_messages":
        return [(i, pick("sessions"), "user" if i % 2 else "assistant",
                 text(5000) if i % 97 == 0 else text(590), int(r() * 900), f"req-{i:x}", ts - r() * 9e6)
                for i in ids]
    if t.name == "model_calls":
        return [(i, pick("chat_messages"), SERVICES[i % 3], "local_llm_degraded" if i % 4 else "deepseek",
                 text(480), text(400), r() * 2000, "ok" if i % 50 else "error", ts - r() * 9e6)
                for i in ids]
    if t.name == "power_windows":
        return [(i, f"win-{i:08d}-{rng.getrandbits(48):012x}", "switch", 30, ts - i, ts - i + 30, ts - i + 20,
                 ("closed", "expired")[i % 2]) for i in ids]
    if t.name == "window_events":
        return [(i, pick("power_windows"), ("open", "close", "expire")[i % 3], ts - r() * 9e6, text(90))
                for i in ids]
    if t.name == "events":
        return [(i, pick("services"), ("health", "restart", "request", "warn")[i % 4], text(190),
                 ts - r() * 9e6) for i in ids]
    if t.name == "audit_log":
        return [(i, f"user{i % 37}", ("open", "close", "chat", "flag", "login")[i % 5], f"/t/{i % 991}",
                 text(240), ts - r() * 9e6) for i in ids]
    if t.name == "tasks":
        return [(i, f"task-{i}", ("queued", "done", "failed")[i % 3], text(380), ts - r() * 9e6)
                for i in ids]
    if t.name == "task_runs":
        return [(i, pick("tasks"), ts - r() * 9e6, ts - r() * 9e6, i % 3, text(5200) if i % 13 == 0 else text(900))
                for i in ids]
    if t.name == "metrics":
        return [(i, pick("services"), ("latency_ms", "rss_mb", "req_s", "err_rate")[i % 4], r() * 100,
                 ts - r() * 9e6) for i in ids]
    if t.name == "backups":
        return [(i, f"data/backups/vx11-{i:05d}.db", int(r() * 6e8), f"{rng.getrandbits(256):064x}",
                 ts - i * 3600) for i in ids]
    if t.name.endswith("_projects"):
        return [(i, f"{t.name}-{i}", f"owner{i % 11}", ("new", "open", "done")[i % 3], ts - r() * 9e6)
                for i in ids]
    fam = t.name.split("_", 1)[0]
    child = t.name.split("_", 1)[1]
    k = FAMILY_CHILDREN.index(child)
    prev = f"{fam}_{FAMILY_CHILDREN[k - 1]}" if k else None
    st = ("new", "open", "done", "failed")
    if prev:
        return [(i, pick(f"{fam}_projects"), pick(prev), f"{child}-{i}", st[i % 4], r(), text(300),
                 ts - r() * 9e6, ts) for i in ids]
    return [(i, pick(f"{fam}_projects"), f"{child}-{i}", st[i % 4], r(), text(300), ts - r() * 9e6, ts)
            for i in ids]


def _load(con: sqlite3.Connection, t: Table, first: int, n: int, counts: dict[str, int], text: _Text,
          rng: random.Random, batch: int = 50_000) -> None:
    """Insert rows with ids ``first .. first+n-1`` in batches."""
    width = len(con.execute(f"SELECT * FROM {t.name} LIMIT 0").description)
    sql = f"INSERT INTO {t.name} VALUES ({','.join('?' * width)})"
    for start in range(first, first + n, batch):
        con.executemany(sql, _rows(t, range(start, min(start + batch, first + n)), counts, text, rng))


def build(path: Path, scale: float = 1.0, *, seed: int = 29) -> Path:
    """Write the database to ``path`` (through ``path.part``, renamed when complete)."""
    rng = random.Random(seed)
    text = _Text(rng)
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    con = sqlite3.connect(part, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "temp_store=MEMORY",
                   "locking_mode=EXCLUSIVE"):
        con.execute(f"PRAGMA {pragma}")
    con.execute("BEGIN")
    specs = tables()
    counts = {t.name: row_count(t, scale) for t in specs}
    for t in specs:
        con.execute(f"CREATE TABLE {t.name} ({t.ddl})" + (" WITHOUT ROWID" if t.without_rowid else ""))
    for t in specs:
        if t.name == "events":   # a retention delete of the oldest rows leaves a freelist, as in a live db
            extra = counts[t.name] // 40
            _load(con, t, 1, extra, counts, text, rng)
            _load(con, t, extra + 1, counts[t.name], counts, text, rng)
        else:
            _load(con, t, 1, counts[t.name], counts, text, rng)
    for t in specs:
        for k, cols in enumerate(t.indexes):
            con.execute(f"CREATE INDEX idx_{t.name}_{k} ON {t.name}({cols})")
    con.execute(f"DELETE FROM events WHERE id <= {counts['events'] // 40}")
    con.execute(f"PRAGMA user_version={GEN_VERSION}")
    con.execute("COMMIT")
    con.execute("PRAGMA locking_mode=NORMAL")
    con.execute("PRAGMA journal_mode=WAL")              # madre's live database runs in WAL mode
    con.close()
    os.replace(part, path)
    return path


def seed_path(scale: float, directory: Path = DEFAULT_DIR) -> Path:
    return directory / f"vx11-seed-v{GEN_VERSION}-x{scale:g}.db"


def ensure(scale: float = 1.0, path: Path | None = None, *, force: bool = False) -> Path:
    """The cached seed database for ``scale``, built when absent, stale or ``force``."""
    path = path or seed_path(scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file() and not force:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            version = con.execute("PRAGMA user_version").fetchone()[0]
            con.close()
            if version == GEN_VERSION:
                return path
        except sqlite3.Error:
            pass
    return build(path, scale)


def parse_size(text: str) -> float:
    """'600MB' -> 1.0; a bare number is a scale factor."""
    key = text.strip().upper()
    if key in SIZES:
        return SIZES[key]
    try:
        return float(key)
    except ValueError:
        raise SystemExit(f"unknown size {text!r}: use one of {', '.join(SIZES)} or a scale factor") from None


# --- seeded faults (for tests and the benchmark; always on a copy) -------------------------------

def _header(path: Path) -> tuple[int, int]:
    with open(path, "rb") as fh:
        head = fh.read(100)
    page_size = struct.unpack(">H", head[16:18])[0]
    return (65536 if page_size == 1 else page_size), head[20]


def _leaf_of(path: Path, root: int, *, middle: bool = False) -> int:
    """A leaf page of the b-tree rooted at ``root``: leftmost, or down the middle child."""
    page_size, _ = _header(path)
    with open(path, "rb") as fh:
        page = root
        while True:
            fh.seek((page - 1) * page_size)
            data = fh.read(page_size)
            off = 100 if page == 1 else 0
            kind = data[off]
            if kind in (0x0A, 0x0D):
                return page
            ncells = struct.unpack(">H", data[off + 3:off + 5])[0]
            k = ncells // 2 if middle else 0
            cell = struct.unpack(">H", data[off + 12 + 2 * k:off + 14 + 2 * k])[0]
            page = struct.unpack(">I", data[cell:cell + 4])[0]


def _rootpage(path: Path, name: str) -> int:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT rootpage FROM sqlite_schema WHERE name=?", (name,)).fetchone()
    finally:
        con.close()
    if not row:
        raise ValueError(f"{path}: no b-tree named {name}")
    return row[0]


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def corrupt_index(path: Path, index: str) -> str:
    """Change one key in ``index``'s leftmost leaf so the index disagrees with its table.

    The b-tree stays well formed (quick_check passes); only integrity_check's
    index-versus-table cross check can see it.
    """
    page_size, _ = _header(path)
    leaf = _leaf_of(path, _rootpage(path, index))
    with open(path, "r+b") as fh:
        fh.seek((leaf - 1) * page_size)
        data = bytearray(fh.read(page_size))
        cell = struct.unpack(">H", data[8:10])[0]               # first cell of an index leaf (0x0A)
        _, at = _varint(data, cell)                             # payload size
        hdr_size, p = _varint(data, at)
        serial, _ = _varint(data, p)                            # first column's serial type
        body = at + hdr_size
        if serial in (8, 9):                                    # constant 0/1: flip the type itself
            data[p] = 17 - serial
        elif 1 <= serial <= 6 or serial >= 12:                  # an int, text or blob: change a byte
            data[body] ^= 0x01
        else:
            raise ValueError(f"{index}: first key column has serial type {serial}; pick another index")
        fh.seek((leaf - 1) * page_size)
        fh.write(data)
    return f"index {index}: one key changed on page {leaf}"


def corrupt_page(path: Path, table: str) -> str:
    """Overwrite the cell-pointer array of a leaf page in the middle of ``table`` with garbage."""
    page_size, _ = _header(path)
    leaf = _leaf_of(path, _rootpage(path, table), middle=True)
    with open(path, "r+b") as fh:
        fh.seek((leaf - 1) * page_size + 8)
        fh.write(bytes([0xFF, 0xEE]) * 24)
    return f"table {table}: 48 bytes overwritten on page {leaf}"


def orphan_free_pages(path: Path) -> str:
    """Drop the freelist from the header: its pages become 'never used' (needs a non-empty freelist)."""
    with open(path, "r+b") as fh:
        fh.seek(32)
        trunk, count = struct.unpack(">II", fh.read(8))
        if not count:
            raise ValueError(f"{path}: the freelist is empty; nothing to orphan")
        fh.seek(32)
        fh.write(struct.pack(">II", 0, 0))
    return f"freelist of {count} pages dropped from the header (first trunk page {trunk})"


def add_fk_violation(path: Path, child: str = "chat_messages", column: str = "session_id") -> str:
    """Point one row of ``child`` at a parent that does not exist (foreign_keys off, as a buggy writer would)."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys=OFF")
        rowid = con.execute(f"SELECT max(rowid) FROM {child}").fetchone()[0]
        con.execute(f"UPDATE {child} SET {column}=-1 WHERE rowid=?", (rowid,))
    finally:
        con.close()
    return f"{child} row {rowid}: {column} points at a missing parent"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.make_seed_db", description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="600MB", help=f"{', '.join(SIZES)} or a scale factor (default 600MB)")
    ap.add_argument("--out", type=Path, help=f"file to write (default {DEFAULT_DIR}/vx11-seed-*.db)")
    ap.add_argument("--force", action="store_true", help="rebuild even when a cached file is there")
    args = ap.parse_args(argv)
    scale = parse_size(args.size)
    start = time.monotonic()
    path = ensure(scale, args.out, force=args.force)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_schema WHERE type='table' "
                                       "AND name NOT LIKE 'sqlite_%'")]
    rows = sum(con.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names)
    con.close()
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, {len(names)} tables, {rows:,} rows "
          f"({time.monotonic() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
