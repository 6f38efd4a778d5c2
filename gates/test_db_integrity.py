"""DB integrity (gate 1): the live SQLite database passes quick_check, integrity_check
and foreign_key_check, read on one consistent view that never writes the live file
nor blocks its writer for long (fixtures.sqlite.live). A file SQLite calls malformed
or truncated fails here with SQLite's own words; one that cannot be reached at all is
"could not look"."""

from __future__ import annotations

import pytest

from fixtures.gatekit.expect import expect

pytestmark = [pytest.mark.gate]
GATE = "db_integrity"


def test_pragma_checks_clean(db_facts, evidence):
    facts = db_facts
    evidence.metric("db_checks_passed", facts.checks_passed)
    evidence.attach("PRAGMA results", f"quick_check: {list(facts.quick_check[:20])}\n"
                    f"integrity_check: {list((facts.integrity_check or ())[:20])}\n"
                    f"foreign_key_check: {list((facts.foreign_key_check or ())[:20])}\n"
                    f"mode {facts.mode}, {facts.workers} workers, seconds {facts.seconds}\n"
                    f"read: {facts.method or 'backup API snapshot'}")
    evidence.attach("database statistics", f"size {facts.size_bytes} bytes, {facts.table_count} tables, "
                    f"{facts.total_rows} rows")
    restore = "restore the database from the newest backup in data/backups/"
    expect(facts.quick_ok, GATE, "database", "PRAGMA quick_check", "['ok']", list(facts.quick_check[:5]),
           evidence="\n".join(facts.notes), fix=restore)
    expect(facts.integrity_ok, GATE, "database", "PRAGMA integrity_check", "['ok']",
           list((facts.integrity_check or ("not run",))[:5]), evidence="\n".join(facts.notes), fix=restore)
    fks = facts.foreign_key_check or ()
    expect(facts.fk_ok, GATE, "database", "PRAGMA foreign_key_check", "no violations",
           f"{len(fks)} violations: {list(fks[:3])}" if facts.foreign_key_check is not None else "not run",
           fix="find the orphan rows listed and repair or delete them")


def test_database_not_empty(db_facts):
    expect(db_facts.table_count > 0, GATE, "database", "tables", "at least one", db_facts.table_count,
           fix="the snapshot is empty: check database.container_path / host_path in the profile")
