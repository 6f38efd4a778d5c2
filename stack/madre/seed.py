"""Deterministic seed data for a new database: a few thousand realistic rows."""

from __future__ import annotations

import json
import random
import sqlite3

BASE = 1_735_689_600  # 2025-01-01T00:00:00Z
SERVICES = [("tentaculo_link", 8000, "public", "required"), ("madre", 8001, "internal", "required"),
            ("switch", 8002, "internal", "optional"), ("spawner", 8003, "internal", "optional"),
            ("redis", 6379, "internal", "required")]
MODELS = [("vx11-mini", "local", 8192), ("vx11-base", "local", 32768), ("deepseek-r", "remote", 65536),
          ("vx11-embed", "local", 2048)]
INTENTS = ["chat", "summarize", "plan", "code", "search", "classify"]
WORDS = "status deploy window restart check route model redis backup flag health operator".split()
FLAGS = [("playwright", "browser automation runtime"), ("deepseek_runtime", "remote model runtime"),
         ("smoke_tests", "in-production smoke tests")]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _ids(conn: sqlite3.Connection, table: str) -> list[int]:
    return [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]


def _base(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.executemany("INSERT INTO services (name, port, exposure, policy, created_at) VALUES (?,?,?,?,?)",
                     [(*s, BASE) for s in SERVICES])
    conn.executemany("INSERT INTO models (name, provider, context_tokens, enabled) VALUES (?,?,?,?)",
                     [(*m, int(m[1] == "local")) for m in MODELS])
    model_ids = _ids(conn, "models")
    conn.executemany("INSERT INTO model_routes (model_id, intent, priority) VALUES (?,?,?)",
                     [(rng.choice(model_ids), i, p) for i in INTENTS for p in (1, 2, 3)])
    conn.executemany("INSERT INTO feature_flags VALUES (?, 0, ?, ?)", [(n, d, BASE) for n, d in FLAGS])
    for sid in _ids(conn, "services"):
        conn.executemany("INSERT INTO service_versions (service_id, version, image, released_at) "
                         "VALUES (?,?,?,?)",
                         [(sid, f"1.{minor}.0", f"vx11-{sid}:1.{minor}.0", BASE + minor * 86400 * 7)
                          for minor in range(12)])
    rows = [(v, rng.choice(["staging", "production"]), rng.choice(["succeeded", "succeeded", "failed"]),
             BASE + k * 3600, BASE + k * 3600 + rng.randint(30, 900))
            for k, v in enumerate(rng.choices(_ids(conn, "service_versions"), k=240))]
    conn.executemany("INSERT INTO deployments (version_id, environment, status, started_at, finished_at) "
                     "VALUES (?,?,?,?,?)", rows)


def _operators(conn: sqlite3.Connection, rng: random.Random) -> None:
    conn.executemany("INSERT INTO operators (handle, display_name, role, created_at) VALUES (?,?,?,?)",
                     [(f"op{k:03d}", f"Operator {k}", rng.choice(["admin", "operator", "operator", "viewer"]),
                       BASE + k * 600) for k in range(40)])
    ops = _ids(conn, "operators")
    conn.executemany("INSERT INTO operator_sessions (operator_id, session_key, started_at, ended_at) "
                     "VALUES (?,?,?,?)",
                     [(rng.choice(ops), f"sess-{k:05d}", BASE + k * 900, BASE + k * 900 + 1800)
                      for k in range(300)])
    rows = []
    for sess in _ids(conn, "operator_sessions"):
        for turn in range(rng.randint(2, 6)):
            t = BASE + sess * 900 + turn * 30
            degraded = int(rng.random() < 0.1)
            rows.append((sess, "operator", _sentence(rng, rng.randint(3, 12)), 0, None, t))
            rows.append((sess, "assistant", _sentence(rng, rng.randint(5, 20)), degraded,
                         "local_llm_degraded" if degraded else None, t + 2))
    conn.executemany("INSERT INTO chat_messages (session_id, role, content, degraded, fallback_source, "
                     "created_at) VALUES (?,?,?,?,?,?)", rows)


def _activity(conn: sqlite3.Connection, rng: random.Random) -> None:
    svc = _ids(conn, "services")
    ops = _ids(conn, "operators")
    wins = []
    for k in range(400):
        opened = float(BASE + k * 1200)
        ttl = rng.choice([60, 300, 900, 1800])
        state = rng.choice(["closed", "closed", "expired"])
        closed = opened + rng.randint(5, ttl - 1) if state == "closed" else None
        wins.append((f"win_seed_{k:04d}", svc[2], rng.choice(ops), opened, opened + ttl, closed, state))
    conn.executemany("INSERT INTO power_windows (window_key, service_id, operator_id, opened_at, deadline, "
                     "closed_at, state) VALUES (?,?,?,?,?,?,?)", wins)
    conn.executemany("INSERT INTO tasks (kind, service_id, payload, status, created_at) VALUES (?,?,?,?,?)",
                     [(rng.choice(["restart", "backup", "probe", "reindex"]), rng.choice(svc),
                       json.dumps({"attempts": rng.randint(1, 3)}), rng.choice(["done", "done", "failed"]),
                       BASE + k * 400) for k in range(600)])
    runs = []
    for task in _ids(conn, "tasks"):
        for attempt in range(1, rng.randint(1, 4) + 1):
            start = BASE + task * 400 + attempt * 20
            runs.append((task, attempt, start, start + rng.randint(1, 15), rng.choice([0, 0, 0, 1]),
                         _sentence(rng, 6)))
    conn.executemany("INSERT INTO task_runs (task_id, attempt, started_at, finished_at, exit_code, "
                     "log_excerpt) VALUES (?,?,?,?,?,?)", runs)
    conn.executemany("INSERT INTO events (service_id, level, message, created_at) VALUES (?,?,?,?)",
                     [(rng.choice(svc), rng.choice(["debug", "info", "info", "warning", "error"]),
                       _sentence(rng, 8), BASE + k * 60) for k in range(3000)])


def seed(conn: sqlite3.Connection) -> None:
    rng = random.Random(11)
    _base(conn, rng)
    _operators(conn, rng)
    _activity(conn, rng)
