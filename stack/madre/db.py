"""madre's SQLite database: schema, first-start creation, and read helpers.

The database is created once, on madre's first start, in a temporary file that
is renamed into place when seeded, so a crash mid-seed never leaves half a
database behind. WAL mode lets the gate suite and the maintenance command read
it while madre runs.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE services (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, port INTEGER NOT NULL,
    exposure TEXT NOT NULL CHECK (exposure IN ('public', 'internal')),
    policy TEXT NOT NULL CHECK (policy IN ('required', 'optional')), created_at INTEGER NOT NULL);
CREATE TABLE service_versions (
    id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    version TEXT NOT NULL, image TEXT NOT NULL, released_at INTEGER NOT NULL,
    UNIQUE (service_id, version));
CREATE TABLE deployments (
    id INTEGER PRIMARY KEY, version_id INTEGER NOT NULL REFERENCES service_versions(id),
    environment TEXT NOT NULL, status TEXT NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER);
CREATE INDEX ix_deployments_version ON deployments(version_id);
CREATE INDEX ix_deployments_env_status ON deployments(environment, status);
CREATE TABLE operators (
    id INTEGER PRIMARY KEY, handle TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')), created_at INTEGER NOT NULL);
CREATE TABLE operator_sessions (
    id INTEGER PRIMARY KEY, operator_id INTEGER NOT NULL REFERENCES operators(id),
    session_key TEXT NOT NULL UNIQUE, started_at INTEGER NOT NULL, ended_at INTEGER);
CREATE INDEX ix_sessions_operator ON operator_sessions(operator_id);
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES operator_sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('operator', 'assistant')), content TEXT NOT NULL,
    degraded INTEGER NOT NULL DEFAULT 0, fallback_source TEXT, created_at INTEGER NOT NULL);
CREATE INDEX ix_chat_session_time ON chat_messages(session_id, created_at);
CREATE TABLE models (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, provider TEXT NOT NULL,
    context_tokens INTEGER NOT NULL, enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE model_routes (
    id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL REFERENCES models(id),
    intent TEXT NOT NULL, priority INTEGER NOT NULL, UNIQUE (intent, priority));
CREATE INDEX ix_routes_model ON model_routes(model_id);
CREATE TABLE power_windows (
    id INTEGER PRIMARY KEY, window_key TEXT NOT NULL UNIQUE,
    service_id INTEGER NOT NULL REFERENCES services(id), operator_id INTEGER REFERENCES operators(id),
    opened_at REAL NOT NULL, deadline REAL NOT NULL, closed_at REAL,
    state TEXT NOT NULL CHECK (state IN ('open', 'closed', 'expired')), CHECK (deadline > opened_at));
CREATE INDEX ix_windows_service_state ON power_windows(service_id, state);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, service_id INTEGER NOT NULL REFERENCES services(id),
    payload TEXT NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX ix_tasks_status ON tasks(status, created_at);
CREATE INDEX ix_tasks_service ON tasks(service_id);
CREATE TABLE task_runs (
    id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL, started_at INTEGER NOT NULL, finished_at INTEGER, exit_code INTEGER,
    log_excerpt TEXT, UNIQUE (task_id, attempt));
CREATE TABLE events (
    id INTEGER PRIMARY KEY, service_id INTEGER NOT NULL REFERENCES services(id),
    level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    message TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX ix_events_service_time ON events(service_id, created_at);
CREATE INDEX ix_events_level ON events(level);
CREATE TABLE feature_flags (
    name TEXT PRIMARY KEY, enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    description TEXT NOT NULL, updated_at INTEGER NOT NULL);
"""
SCHEMA_VERSION = "3"


def connect(path: Path, readonly: bool = False, timeout: float = 5.0) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro" if readonly else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                        "ORDER BY name").fetchall()
    return [r[0] for r in rows]


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables(conn)}


def schema_hash(conn: sqlite3.Connection) -> str:
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                        "ORDER BY type, name").fetchall()
    text = "\n".join(f"{t}|{n}|{s}" for t, n, s in rows)
    return hashlib.sha256(text.encode()).hexdigest()


def ensure_database(path: Path) -> bool:
    """Create and seed the database if missing. True when it was created now."""
    if path.exists():
        return False
    from madre.seed import seed

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    conn = connect(tmp)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(SCHEMA)
        with conn:
            conn.execute("INSERT INTO schema_meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            seed(conn)
        problems = conn.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"seed broke foreign keys: {problems[:3]}")
    finally:
        conn.close()  # checkpoints the WAL and removes it
    os.replace(tmp, path)
    return True
