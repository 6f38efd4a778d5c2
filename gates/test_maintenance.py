"""Post-task maintenance (gate 5): the maintenance command runs beside madre under a
timeout, exits 0, regenerates the DB map with every table and its row count as the
database has them, and leaves integrity intact and no table with fewer rows than before."""

from __future__ import annotations

import json

import pytest

from fixtures.gatekit.expect import expect
from fixtures.gatekit.plugin import db_facts_now
from fixtures.gatekit.policy import not_checked
from fixtures.probes.contract import map_counts

pytestmark = [pytest.mark.gate]
GATE = "maintenance"


def test_maintenance_keeps_data(backend, profile, tmp_path, evidence):
    m = profile.maintenance
    before = db_facts_now(backend, profile, tmp_path)
    old_map, old_stamp = backend.read_file_stamped(m["service"], _map_path(backend, m))
    old_backups = set(backend.list_dir(m["service"], _backups_dir(backend, m)) or [])
    res = backend.exec(m["service"], list(m["command"]), timeout=float(m["timeout_sec"]))
    evidence.attach("log: maintenance", f"$ {' '.join(res.argv)}\nexit {res.rc} in {res.seconds:.1f}s\n{res.output}")
    expect(res.rc == 0, GATE, " ".join(m["command"]), "exit code", 0,
           "timeout" if res.rc is None else res.rc, evidence=res.tail(15))
    after_backups = set(backend.list_dir(m["service"], _backups_dir(backend, m)) or [])
    if int(m["backups_kept"]):  # new names, or a rotation under fixed names: the folder changed, or holds one
        expect(bool(after_backups) and (after_backups != old_backups or bool(old_backups)), GATE,
               _backups_dir(backend, m), "a backup kept after the command", "at least one", "none")
    raw, stamp = backend.read_file_stamped(m["service"], _map_path(backend, m))
    expect(raw is not None, GATE, "DB map", "file", "present", "missing")
    # A map of an unchanged database may be byte for byte the same: rewritten is what counts.
    expect(raw != old_map or stamp != old_stamp, GATE, "DB map", "regenerated", "rewritten by the command",
           f"the same content and modification time ({stamp}) as before it ran")
    try:
        db_map = json.loads(raw)
    except ValueError:
        db_map = None
    found = map_counts(db_map)
    expect(found is not None, GATE, "DB map", "tables", "each table with its row count", repr(raw[:80]))
    counts = found or {}
    after = db_facts_now(backend, profile, tmp_path)
    expect(set(counts) == set(after.tables), GATE, "DB map", "tables", sorted(after.tables)[:8],
           f"missing {sorted(set(after.tables) - set(counts))[:5]}, extra {sorted(set(counts) - set(after.tables))[:5]}")
    expect(after.checks_passed == 3, GATE, "database after maintenance", "PRAGMA checks passed", "3/3",
           f"{after.checks_passed}/3: {list(after.quick_check[:3])}")
    # Rows may grow meanwhile (the stack is live); maintenance must never lose any.
    lost = {t: (n, after.tables.get(t)) for t, n in before.tables.items()
            if n is not None and after.tables.get(t) is not None and after.tables[t] < n}  # None: not countable
    expect(not lost, GATE, "database after maintenance", "row counts", "none lower than before",
           ", ".join(f"{t}: {a} -> {b}" for t, (a, b) in sorted(lost.items())[:5]))
    # The stack is live: a count may lie between the database before and after, never outside.
    wrong = {t: n for t, n in counts.items() if not (before.tables.get(t) or 0) <= n <= (after.tables.get(t) or 0)}
    expect(not wrong, GATE, "DB map", "row counts", "the database's (between before and after the command)",
           ", ".join(f"{t}: map {n}, database {before.tables.get(t)}..{after.tables.get(t)}"
                     for t, n in sorted(wrong.items())[:5]))


def test_backups_rotated(backend, profile, evidence):
    """Runs after test_maintenance_keeps_data (file order): the folder as the command left it."""
    m, keep = profile.maintenance, int(profile.maintenance["backups_kept"])
    if not keep:
        not_checked("maintenance.backups_kept is 0 in the profile: say how many backups the stack keeps")
    names = backend.list_dir(m["service"], _backups_dir(backend, m))
    evidence.attach("backups", "\n".join(names or []) or "none")
    expect(names is not None, GATE, _backups_dir(backend, m), "backups folder", "present", "missing")
    backups = [n for n in names or [] if not n.startswith(".")]
    expect(0 < len(backups) <= keep, GATE, _backups_dir(backend, m), "backups kept", f"1..{keep} (newest kept)",
           len(backups), fix="rotate backups: keep the newest N and remove the rest")


def _backups_dir(backend, m):
    return m["backups_dir"] if backend.kind == "host" else m["container_backups_dir"]


def _map_path(backend, m):
    return m["db_map"] if backend.kind == "host" else m["container_db_map"]
