"""Post-task maintenance of madre's database: ``python -m madre.maintenance``.

Run in the stack's directory (or /app in the image); honours VX11_DATA_DIR.
Checks integrity, regenerates data/db_map.json, writes a backup through the
SQLite backup API into data/backups/ and keeps the newest N (VX11_BACKUP_KEEP,
default 5), then checks that integrity and row counts are unchanged.
Exit 0 when all is well; 1 with a message naming the problem otherwise.
Standard library only: it may run under an interpreter without the venv.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from madre import db, faults

CHECKS = ("quick_check", "integrity_check", "foreign_key_check")


class MaintenanceError(Exception):
    pass


def integrity(conn: sqlite3.Connection) -> dict[str, str]:
    """Each PRAGMA's result: 'ok' or the first problems it reports."""
    out = {}
    for pragma in CHECKS:
        rows = conn.execute(f"PRAGMA {pragma}").fetchall()
        clean = not rows if pragma == "foreign_key_check" else rows == [("ok",)]
        out[pragma] = "ok" if clean else repr(rows[:5])
    return out


def write_db_map(conn: sqlite3.Connection, path: Path) -> dict[str, object]:
    counts = db.row_counts(conn)
    if faults.on("db_map_wrong_counts") and counts:  # the defect: one table's count is off by one
        first = sorted(counts)[0]
        counts[first] += 1
    doc = {"tables": counts, "schema_hash": db.schema_hash(conn),
           "generated_at": datetime.now(UTC).isoformat(timespec="seconds")}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return doc


def backup(conn: sqlite3.Connection, folder: Path, keep: int) -> tuple[Path, list[Path]]:
    """Write a consistent copy via the backup API; drop all but the newest ``keep``."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    dest = folder / f"vx11-{stamp}.db"
    tmp = folder / f".{dest.name}.tmp"
    target = sqlite3.connect(tmp)
    try:
        conn.backup(target)
        if target.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise MaintenanceError(f"backup {dest} fails quick_check")
    finally:
        target.close()
    os.replace(tmp, dest)
    backups = sorted(folder.glob("vx11-*.db"))
    removed = backups[:-keep] if keep > 0 and not faults.on("backups_not_rotated") else []
    for old in removed:
        old.unlink()
    return dest, removed


def run(data_dir: Path, keep: int) -> str:
    path = data_dir / "vx11.db"
    if not path.is_file():
        raise MaintenanceError(f"no database at {path}; start madre once to create it, or set VX11_DATA_DIR")
    if faults.on("maintenance_fails"):
        raise MaintenanceError("fault maintenance_fails is on: refusing to run")
    conn = db.connect(path, timeout=10.0)
    try:
        before = integrity(conn)
        if any(v != "ok" for v in before.values()):
            raise MaintenanceError(f"integrity problems before maintenance: {before}")
        counts = db.row_counts(conn)
        if faults.on("maintenance_loses_rows"):
            with conn:
                conn.execute("DELETE FROM events WHERE id % 10 = 0")
        map_path = data_dir / "db_map.json"
        if faults.on("maintenance_stale_map") and map_path.is_file():
            doc = json.loads(map_path.read_text())  # an earlier run's map stays: what the fault breaks
        else:
            doc = write_db_map(conn, map_path)
        dest, removed = backup(conn, data_dir / "backups", keep)
        after = integrity(conn)
        if any(v != "ok" for v in after.values()):
            raise MaintenanceError(f"integrity problems after maintenance: {after}")
        if db.row_counts(conn) != counts and not faults.on("maintenance_loses_rows"):
            raise MaintenanceError("row counts changed during maintenance")
    finally:
        conn.close()
    total = sum(doc["tables"].values())  # type: ignore[union-attr]
    return (f"maintenance: ok: {len(doc['tables'])} tables, {total} rows, "  # type: ignore[arg-type]
            f"integrity {'/'.join(CHECKS)} ok, db_map {data_dir / 'db_map.json'}, "
            f"backup {dest.name} (kept newest {keep}, removed {len(removed)})")


def main() -> int:
    data_dir = Path(os.environ.get("VX11_DATA_DIR", "data"))
    try:
        keep = int(os.environ.get("VX11_BACKUP_KEEP", "5"))
    except ValueError:
        print("maintenance: VX11_BACKUP_KEEP must be an integer", file=sys.stderr)
        return 2
    start = time.monotonic()
    try:
        summary = run(data_dir, keep)
    except (MaintenanceError, sqlite3.Error, OSError) as exc:
        print(f"maintenance: FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"{summary} in {time.monotonic() - start:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
