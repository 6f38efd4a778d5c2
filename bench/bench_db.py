"""The SQLite probe against the sqlite3 command-line shell, measured in one run.

For each size: the probe's ``check`` on a snapshot (snapshot excluded), the
probe's snapshot + check (included), and ``sqlite3 -readonly DB "PRAGMA
integrity_check; PRAGMA foreign_key_check;"`` on the same database, each the
median of ``--repeat`` interleaved runs on a warm page cache. The ratio is
ours / CLI (goal <= 1.0). Two reference columns say where the difference comes
from: the CLI with mmap on (what mmap alone buys) and the probe with one worker
(whole-database PRAGMAs, no split). The probe does more than the CLI: it also
runs quick_check and counts every table's rows.

Then the fault table: a copy of a seed database with one seeded fault each
(an index that disagrees with its table, a damaged page, free pages dropped
from the freelist, a foreign key to nowhere); the probe's verdict must match
the CLI's.

    python -m bench.bench_db [60MB 600MB ...] [--big] [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as bench/NAME.py

from bench import make_seed_db as seed  # noqa: E402
from fixtures.sqlite import probe  # noqa: E402
from fixtures.sqlite.pragmas import MMAP_BYTES  # noqa: E402

CLI = shutil.which("sqlite3") or "/usr/bin/sqlite3"
CLI_SQL = "PRAGMA integrity_check; PRAGMA foreign_key_check;"


def machine() -> list[str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cli = subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout.split()
    return [f"- CPU: {model}, {os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f} (other work on the machine skews wall times: see the load and CPU columns)",
            f"- SQLite: library {sqlite3.sqlite_version} (Python {platform.python_version()}), "
            f"CLI {cli[0] if cli else '?'} ({CLI})",
            f"- OS: {platform.platform()}"]


def run_cli(db: Path, sql: str = CLI_SQL, mmap: bool = False) -> tuple[float, bool, list[str]]:
    """Seconds, clean exit, and the output lines (stderr lines prefixed with 'error:')."""
    argv = [CLI, "-readonly"] + (["-cmd", f"PRAGMA mmap_size={MMAP_BYTES}"] if mmap else [])
    start = time.perf_counter()
    done = subprocess.run(argv + [str(db), sql], capture_output=True, text=True)
    took = time.perf_counter() - start
    return took, done.returncode == 0, done.stdout.splitlines() + [f"error: {x}" for x in done.stderr.splitlines()]


def cli_verdict(db: Path) -> str:
    """The CLI's verdict, each PRAGMA run on its own so their outputs cannot mix."""
    _, ok, lines = run_cli(db, "PRAGMA integrity_check;")
    integrity = "ok" if ok and lines == ["ok"] else "FAIL"
    _, ok, lines = run_cli(db, "PRAGMA foreign_key_check;")
    return f"integrity {integrity}, fk {'ok' if ok and not lines else 'FAIL'}"


def probe_verdict(f: probe.DbFacts) -> str:
    fk = "not run" if f.foreign_key_check is None else ("ok" if f.fk_ok else "FAIL")
    return f"integrity {'ok' if f.integrity_ok else 'FAIL'}, fk {fk}"


def cpu(who: int) -> float:
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime


def warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def bench_size(label: str, scale: float, repeat: int, workers: int, tmp: Path) -> dict:
    db = seed.ensure(scale)
    warm(db)
    snap = tmp / f"snap-{label}.db"
    keys = ("cli", "cli_mmap", "snap", "check", "whole", "cli_cpu", "check_cpu")
    times: dict[str, list[float]] = {k: [] for k in keys}
    verdicts = set()
    for _ in range(repeat):     # interleaved, so background load hits every column alike
        before = cpu(resource.RUSAGE_CHILDREN)
        took, ok, lines = run_cli(db)
        times["cli"].append(took)
        times["cli_cpu"].append(cpu(resource.RUSAGE_CHILDREN) - before)
        verdicts.add(("cli", "3/3 clean" if ok and lines == ["ok"] else "not clean"))
        times["cli_mmap"].append(run_cli(db, mmap=True)[0])
        start = time.perf_counter()
        probe.snapshot(db, snap, timeout=600)
        times["snap"].append(time.perf_counter() - start)
        start, before = time.perf_counter(), cpu(resource.RUSAGE_SELF)
        facts = probe.check(snap, workers=workers)
        times["check"].append(time.perf_counter() - start)
        times["check_cpu"].append(cpu(resource.RUSAGE_SELF) - before)
        verdicts.add(("probe", "3/3 clean" if facts.checks_passed == 3 else "not clean"))
        start = time.perf_counter()
        probe.check(snap, workers=1)
        times["whole"].append(time.perf_counter() - start)
    snap.unlink(missing_ok=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    med["incl"] = statistics.median(s + c for s, c in zip(times["snap"], times["check"], strict=True))
    return dict(label=label, facts=facts, med=med, verdicts=sorted(verdicts))


def fault_cases(scale: float, workers: int, tmp: Path) -> list[tuple[str, str, str, str]]:
    db = seed.ensure(scale)
    faults = [
        ("index disagrees with its table", lambda p: seed.corrupt_index(p, "idx_chat_messages_0")),
        ("damaged table page", lambda p: seed.corrupt_page(p, "chat_messages")),
        ("free pages dropped from the freelist", seed.orphan_free_pages),
        ("foreign key to a missing parent", seed.add_fk_violation),
    ]
    rows = []
    for name, damage in faults:
        copy = tmp / "fault.db"
        probe.snapshot(db, copy, timeout=600)     # a private, checkpointed copy
        what = damage(copy)
        cli = cli_verdict(copy)
        par = probe.check(copy, workers=workers, quick_first=False)
        whole = probe.check(copy, workers=1, quick_first=False)
        rows.append((f"{name} ({what})", cli, probe_verdict(par), probe_verdict(whole)))
        copy.unlink()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_db", description=__doc__.split("\n")[0])
    ap.add_argument("sizes", nargs="*", help=f"{', '.join(seed.SIZES)} or scale factors (default 60MB 600MB)")
    ap.add_argument("--big", action="store_true", help="add the 6 GB database (builds it once: minutes)")
    ap.add_argument("--quick", action="store_true", help="CI mode: one small database, one run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)
    sizes = ["6MB"] if args.quick else (args.sizes or ["60MB", "600MB"])
    if args.big and "6GB" not in sizes:
        sizes.append("6GB")
    repeat = 1 if args.quick else args.repeat
    print("# SQLite probe vs sqlite3 CLI\n")
    print("\n".join(machine()) + f"\n- probe workers: {args.workers}; median of {repeat} run(s)\n")
    print("| db | rows | load | CLI s | CLI+mmap s | probe 1 worker s | probe check s | snapshot+check s "
          "| ratio check/CLI | ratio incl/CLI | CPU s CLI / probe | verdicts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    agree = True
    with tempfile.TemporaryDirectory(prefix="vx11-bench-") as tmp:
        for label in sizes:
            load = os.getloadavg()[0]
            r = bench_size(label, seed.parse_size(label), repeat, args.workers, Path(tmp))
            m, f = r["med"], r["facts"]
            same = len({v for _, v in r["verdicts"]}) == 1
            agree &= same
            print(f"| {f.size_bytes / 1e6:,.0f} MB | {f.total_rows:,} | {load:.1f} | {m['cli']:.2f} "
                  f"| {m['cli_mmap']:.2f} | {m['whole']:.2f} | {m['check']:.2f} | {m['incl']:.2f} "
                  f"| **{m['check'] / m['cli']:.2f}** | {m['incl'] / m['cli']:.2f} "
                  f"| {m['cli_cpu']:.2f} / {m['check_cpu']:.2f} | {'same: ' if same else 'DIFFER: '}"
                  f"{'; '.join(f'{k} {v}' for k, v in r['verdicts']) if not same else r['verdicts'][0][1]} |")
            sys.stdout.flush()
        print(f"\nload average at end {os.getloadavg()[0]:.2f}\n")
        print("| seeded fault (on a copy) | CLI | probe parallel | probe whole | same |")
        print("|---|---|---|---|---|")
        small = min([seed.parse_size(x) for x in sizes] + [seed.SIZES["60MB"]])   # faults: a small copy
        for name, cli, par, whole in fault_cases(small, args.workers, Path(tmp)):
            same = cli == par == whole
            agree &= same
            print(f"| {name} | {cli} | {par} | {whole} | {'yes' if same else 'NO'} |")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
