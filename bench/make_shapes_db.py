"""Databases of other shapes than the seed's, for the DB bench: where the bytes sit changes what a check costs.

* ``seed``: :mod:`bench.make_seed_db` (73 tables, skewed, indexes, overflow rows).
* ``wide``: 73 tables whose bytes are mostly rows of about 500 bytes of text, one
  small index each: few index entries per page, many rows per index lookup.
* ``blobs``: files cut into BLOB chunks of 4 KB to 512 KB: most pages are
  overflow pages, few rows.
* ``many``: 2,000 small tables, each with a foreign key and an index: the cost is
  per table and per b-tree, not per byte.

Sizes as in the seed bench (``60MB``, ``600MB``, ``6GB``: the file's size, about).
Files are cached beside the seed's (``/tmp/vx11-bench``), built once, in
rollback-journal mode; :func:`set_journal` switches a file's mode (WAL or
rollback) in place, which rewrites only two header bytes.

    python -m bench.make_shapes_db --shape wide --size 600MB
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import make_seed_db as seed

GEN_VERSION = 1
SHAPES = ("seed", "wide", "blobs", "many")
SIZE_BYTES = {"6MB": 6e6, "60MB": 60e6, "600MB": 600e6, "6GB": 6e9}
BATCH = 20_000


def _bytes(size: str) -> float:
    key = size.strip().upper()
    if key not in SIZE_BYTES:
        raise SystemExit(f"unknown size {size!r}: use one of {', '.join(SIZE_BYTES)}")
    return SIZE_BYTES[key]


def _slice(text: seed._Text, lo: int, hi: int) -> str:
    """A piece of the word soup of ``lo`` to ``hi`` characters."""
    n = text.rng.randint(lo, hi)
    at = text.rng.randrange(len(text.soup) - n)
    return text.soup[at:at + n]


def _wide(con: sqlite3.Connection, target: float, rng: random.Random) -> None:
    text = seed._Text(rng)
    rows = int(target / 560)
    accounts = max(10, rows // 100)
    con.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL)")
    con.executemany("INSERT INTO accounts VALUES (?, ?, ?)",
                    ((i, f"acct-{i:07d}", seed.EPOCH - i) for i in range(1, accounts + 1)))
    weights = [1.0 / (k + 2) for k in range(72)]
    for k, w in enumerate(weights):
        name = f"records_{k:02d}"
        con.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL "
                    f"REFERENCES accounts(id), kind INTEGER NOT NULL, body TEXT NOT NULL, created_at REAL)")
        n = max(10, int(rows * w / sum(weights)))
        sql = f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)"
        for lo in range(1, n + 1, BATCH):
            con.executemany(sql, ((i, rng.randint(1, accounts), i % 7, _slice(text, 420, 580),
                                   seed.EPOCH - rng.random() * 9e6) for i in range(lo, min(lo + BATCH, n + 1))))
        con.execute(f"CREATE INDEX idx_{name}_account ON {name}(account_id)")


def _blobs(con: sqlite3.Connection, target: float, rng: random.Random) -> None:
    con.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, size INTEGER, "
                "created_at REAL)")
    con.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES files(id), "
                "seq INTEGER NOT NULL, data BLOB NOT NULL)")
    done, chunk_id, file_id = 0.0, 0, 0
    while done < target:
        file_id += 1
        parts = rng.randint(1, 8)
        sizes = [int(2 ** rng.uniform(12, 19)) for _ in range(parts)]        # 4 KB .. 512 KB
        con.execute("INSERT INTO files VALUES (?, ?, ?, ?)", (file_id, f"f/{file_id:08d}.bin", sum(sizes),
                                                               seed.EPOCH - file_id))
        rows = []
        for k, size in enumerate(sizes):
            chunk_id += 1
            rows.append((chunk_id, file_id, k, rng.randbytes(size)))
        con.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?)", rows)
        done += sum(sizes)
    con.execute("CREATE INDEX idx_chunks_file ON chunks(file_id, seq)")


def _many(con: sqlite3.Connection, target: float, rng: random.Random) -> None:
    text = seed._Text(rng)
    tables = 2000
    per = max(5, int(target / tables / 260))
    con.execute("CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    con.executemany("INSERT INTO owners VALUES (?, ?)", ((i, f"owner-{i}") for i in range(1, 101)))
    for k in range(tables):
        name = f"m{k:04d}"
        con.execute(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners(id), "
                    f"name TEXT NOT NULL, v REAL, note TEXT)")
        con.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)",
                        ((i, rng.randint(1, 100), f"{name}-{i}", rng.random(), text(150)) for i in range(1, per + 1)))
        con.execute(f"CREATE INDEX idx_{name}_name ON {name}(name)")


BUILDERS: dict[str, Callable[[sqlite3.Connection, float, random.Random], None]] = {
    "wide": _wide, "blobs": _blobs, "many": _many}


def shape_path(shape: str, size: str, directory: Path = seed.DEFAULT_DIR) -> Path:
    return directory / f"vx11-{shape}-v{GEN_VERSION}-{size.upper()}.db"


def build(shape: str, size: str, path: Path) -> Path:
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    con = sqlite3.connect(part, isolation_level=None)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144", "locking_mode=EXCLUSIVE"):
        con.execute(f"PRAGMA {pragma}")
    con.execute("BEGIN")
    BUILDERS[shape](con, _bytes(size), random.Random(29))
    con.execute(f"PRAGMA user_version={GEN_VERSION}")
    con.execute("COMMIT")
    con.close()
    part.replace(path)
    return path


def ensure(shape: str, size: str) -> Path:
    """The cached database of ``shape`` and ``size`` (built when absent)."""
    if shape == "seed":
        return seed.ensure(_bytes(size) / 600e6)
    path = shape_path(shape, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path if path.is_file() else build(shape, size, path)


def set_journal(path: Path, mode: str) -> None:
    """``wal`` or ``rollback`` (DELETE): only the header's two version bytes change."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        got = con.execute(f"PRAGMA journal_mode={'wal' if mode == 'wal' else 'delete'}").fetchone()[0]
    finally:
        con.close()
    if got != ("wal" if mode == "wal" else "delete"):
        raise RuntimeError(f"{path}: journal_mode is {got}, wanted {mode}")


def tables_rows(path: Path) -> Iterator[tuple[str, int]]:
    con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        for (name,) in con.execute("SELECT name FROM sqlite_schema WHERE type='table'").fetchall():
            yield name, con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.make_shapes_db", description=__doc__.split("\n")[0])
    ap.add_argument("--shape", choices=SHAPES, default="wide")
    ap.add_argument("--size", default="600MB", help=", ".join(SIZE_BYTES))
    args = ap.parse_args(argv)
    start = time.monotonic()
    path = ensure(args.shape, args.size)
    counts = dict(tables_rows(path))
    print(f"{path}: {path.stat().st_size / 1e6:.2f} MB, {len(counts)} tables, {sum(counts.values()):,} rows "
          f"({time.monotonic() - start:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
