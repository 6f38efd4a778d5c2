"""Contract checks that also look beside the HTTP API: flags in three places, and
post-task maintenance of madre's database (the local stack)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

from selftests.contract.ctx import FLAG_NAMES, Ctx

HTTP_SERVICES = ("tentaculo_link", "madre", "switch", "spawner")
TRUE = {"1", "true", "yes", "on"}


def check_flags(ctx: Ctx) -> None:
    """config/flags.toml, each service's VX11_FLAG_* and GET /madre/flags agree, and all are off."""
    state = ctx.require_local()
    config = tomllib.loads((Path(state["root"]) / "config" / "flags.toml").read_text()).get("flags", {})
    sources = {"config/flags.toml": {n: config.get(n) for n in FLAG_NAMES}}
    r = ctx.call("GET", "/madre/flags")
    assert r.status == 200 and isinstance(r.body, dict) and isinstance(r.body.get("flags"), dict), \
        f"flags: GET /madre/flags: expected 200 {{'flags': {{...}}}}, found {r}"
    sources["GET /madre/flags"] = {n: r.body["flags"].get(n) for n in FLAG_NAMES}
    for service in HTTP_SERVICES:
        env = ctx.service_env(service)
        sources[f"{service} env"] = {n: env.get(f"VX11_FLAG_{n.upper()}", "").lower() in TRUE
                                     if f"VX11_FLAG_{n.upper()}" in env else None for n in FLAG_NAMES}
    for source, values in sources.items():
        assert values == {n: False for n in FLAG_NAMES}, f"flags: {source}: expected all false, found {values}"


def _counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                            "AND name NOT LIKE 'sqlite_%'")]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}
    finally:
        conn.close()


def _integrity(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return [str(conn.execute(f"PRAGMA {p}").fetchall()) for p in ("quick_check", "integrity_check",
                                                                       "foreign_key_check")]
    finally:
        conn.close()


def check_maintenance(ctx: Ctx) -> None:
    """python -m madre.maintenance exits 0, writes db_map.json and a backup, and changes no row count."""
    state = ctx.require_local()
    env = ctx.service_env("madre")
    data = Path(env.get("VX11_DATA_DIR", "data"))
    data = data if data.is_absolute() else Path(state["root"]) / data
    db = data / "vx11.db"
    before = _counts(db)
    assert len(before) >= 10 and sum(before.values()) >= 1000, f"maintenance: database too small: {before}"
    stamps = []
    for _ in range(2):  # the second run must rewrite the map the first one left
        done = subprocess.run([sys.executable, "-m", "madre.maintenance"], cwd=state["root"], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        out = (done.stdout + done.stderr).strip()
        assert done.returncode == 0, f"maintenance: exit code: expected 0, found {done.returncode}: {out[-500:]}"
        stamps.append((data / "db_map.json").stat().st_mtime_ns if (data / "db_map.json").is_file() else None)
    assert stamps[0] is not None and stamps[1] != stamps[0], \
        f"maintenance: db_map.json: expected rewritten by every run, found modification times {stamps}"
    after = _counts(db)
    assert after == before, f"maintenance: row counts changed: " \
                            f"{ {t: (before.get(t), after.get(t)) for t in before if before.get(t) != after.get(t)} }"
    assert _integrity(db) == ["[('ok',)]", "[('ok',)]", "[]"], f"maintenance: integrity after: {_integrity(db)}"
    db_map = json.loads((data / "db_map.json").read_text())
    assert db_map.get("tables") == after, f"maintenance: db_map.json tables: expected {after}, found {db_map}"
    assert isinstance(db_map.get("schema_hash"), str) and db_map.get("generated_at"), f"maintenance: {db_map}"
    backups = sorted((data / "backups").glob("*.db"))
    keep = int(env.get("VX11_BACKUP_KEEP", "5"))
    assert 1 <= len(backups) <= keep, f"maintenance: backups: expected 1..{keep}, found {len(backups)}"
