"""Forensic baseline (FASE 0): the git snapshot of the stack, the state of every
service and the database statistics, kept as evidence to compare with later runs."""

from __future__ import annotations

import pytest

from fixtures.gatekit.expect import expect
from fixtures.probes.repo import git_snapshot

pytestmark = [pytest.mark.baseline]
GATE = "baseline"


def test_git_snapshot(profile, evidence):
    snap = git_snapshot(profile.root)
    expect(snap is not None, GATE, str(profile.root), "git HEAD", "a commit", "none (not a git repository?)")
    evidence.baseline("git", snap)


def test_service_state(backend, profile, evidence):
    states = backend.states(refresh=True, with_restarts=True)
    evidence.baseline("services", {n: {"running": s.running, "status": s.status, "health": s.health,
                                       "restarts": s.restarts, "image": s.image, "started_at": s.started_at,
                                       "policy": profile.services[n].policy}
                                   for n, s in states.items()})
    evidence.baseline("backend", backend.describe())
    required_up = [n for n, s in states.items() if profile.services[n].required and s.running]
    expect(bool(required_up), GATE, "stack", "required services seen", "at least one", "none")


def test_database_statistics(db_facts, evidence):
    evidence.baseline("database", {"size_bytes": db_facts.size_bytes, "tables": db_facts.tables,
                                   "table_count": db_facts.table_count, "total_rows": db_facts.total_rows,
                                   "quick_check": list(db_facts.quick_check[:5]),
                                   "integrity_check": list((db_facts.integrity_check or ())[:5]),
                                   "foreign_key_check": len(db_facts.foreign_key_check or ()),
                                   "checks_passed": db_facts.checks_passed})
    expect(db_facts.table_count > 0, GATE, "database", "tables", "at least one", db_facts.table_count)
