"""The DB gate's probe against the sqlite3 command-line shell, process against process, in one run.

For each database shape (:mod:`bench.make_shapes_db`: the seed's, wide rows,
large BLOBs, many small tables), size and journal mode: the probe as the gate
runs it (``python -m fixtures.sqlite DB``: :func:`fixtures.sqlite.live.check_live`,
so a WAL database is checked in place in one read transaction while another
connection holds it open, and a rollback-journal one in place, unlocked and
validated or under a SHARED lock, as its shape makes cheaper) against
``sqlite3 -readonly DB "PRAGMA integrity_check; PRAGMA foreign_key_check;"``, the median of ``--repeat``
interleaved pairs on a warm page cache. The ratio is probe / CLI (goal <= 1.0).
The probe does more than the CLI: it also runs quick_check and counts every
table's rows. Memory per process: peak RSS (``wait4``), and the peaks of
private memory (``Private_Clean + Private_Dirty``) and anonymous memory
(``Anonymous``: heap and page cache, what cannot be dropped), sampled from
``/proc/PID/smaps_rollup`` every 20 ms. File pages the probe maps count in RSS,
and in Private_Clean while no other process maps them; they are the page
cache's, which holds the file either way.

Then the fault table: a copy of a seed database with one seeded fault each; the
probe's verdict (parallel and one worker) must be the CLI's.

    python -m bench.bench_db [--shapes seed,wide,blobs,many] [--sizes 60MB,600MB] [--big] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # also runnable as bench/NAME.py

from bench import make_seed_db as seed  # noqa: E402
from bench import make_shapes_db as shapes  # noqa: E402

CLI = shutil.which("sqlite3") or "/usr/bin/sqlite3"
CLI_SQL = "PRAGMA integrity_check; PRAGMA foreign_key_check;"


def machine() -> list[str]:
    model = "unknown"
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cli = subprocess.run([CLI, "--version"], capture_output=True, text=True).stdout.split()
    return [f"- CPU: {model}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; load average at start "
            f"{os.getloadavg()[0]:.2f} (other work on the machine skews wall times: see the load column)",
            f"- SQLite: library {sqlite3.sqlite_version} (Python {platform.python_version()}), "
            f"CLI {cli[0] if cli else '?'} ({CLI})",
            f"- OS: {platform.platform()}"]


@dataclass
class Run:
    wall: float
    cpu: float
    rc: int
    out: str
    err: str
    rss_kb: int               # peak RSS (wait4)
    private_kb: int           # peak Private_Clean + Private_Dirty (sampled)
    anon_kb: int              # peak Anonymous (sampled)


def _rollup(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                out[key] = int(rest.split()[0])
    return out


def measured(argv: list[str], cwd: Path | None = None) -> Run:
    """Run ``argv``; wall and CPU seconds, outputs, and its memory peaks."""
    peaks = {"private": 0, "anon": 0}
    done = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd)

        def sample() -> None:
            while not done.is_set():
                try:
                    r = _rollup(proc.pid)
                except (OSError, ValueError):
                    return
                peaks["private"] = max(peaks["private"], r.get("Private_Clean", 0) + r.get("Private_Dirty", 0))
                peaks["anon"] = max(peaks["anon"], r.get("Anonymous", 0))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, use = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, use.ru_utime + use.ru_stime, proc.returncode, out.read().decode(), err.read().decode(),
                   use.ru_maxrss, peaks["private"], peaks["anon"])


def run_cli(db: Path, sql: str = CLI_SQL) -> Run:
    return measured([CLI, "-readonly", str(db), sql])


def run_probe(db: Path, *args: str) -> Run:
    return measured([sys.executable, "-m", "fixtures.sqlite", str(db), "--json", *args], cwd=ROOT)


def cli_verdict(db: Path) -> str:
    """The CLI's verdict, each PRAGMA run on its own so their outputs cannot mix."""
    r = run_cli(db, "PRAGMA integrity_check;")
    integrity = "ok" if r.rc == 0 and r.out.split() == ["ok"] else "FAIL"
    r = run_cli(db, "PRAGMA foreign_key_check;")
    fk = "ok" if r.rc == 0 and not r.out.strip() else ("FAIL" if r.rc == 0 else "error")
    return f"integrity {integrity}, fk {fk}"


def probe_verdict(r: Run) -> tuple[str, str]:
    """The verdict, and SQLite's first finding."""
    if r.rc not in (0, 1):
        return f"could not look (exit {r.rc})", r.err.strip()[-120:]
    f = json.loads(r.out)
    integrity = "ok" if f["integrity_check"] == ["ok"] and f["quick_check"] == ["ok"] else "FAIL"
    fks = f["foreign_key_check"]
    fk = "not run" if fks is None else "ok" if not fks else "error" if any("error" in x for x in fks) else "FAIL"
    first = next((x for x in (f["quick_check"] + (f["integrity_check"] or [])) if x != "ok" and
                  not x.startswith("***")), "")
    return f"integrity {integrity}, fk {fk}", first[:90]


def same(cli: str, probe: str) -> bool:
    """Equal, or the CLI's foreign_key_check errored where the probe's could not run (unreadable schema)."""
    return cli == probe or cli.replace("fk error", "fk not run") == probe


def warm(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


@contextmanager
def journal(db: Path, mode: str) -> Iterator[None]:
    """The file in ``mode``; for WAL, a connection holds it open meanwhile (as madre does), so a ``-wal`` is there."""
    shapes.set_journal(db, mode)
    if mode != "wal":
        yield
        return
    holder = sqlite3.connect(db)
    holder.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    try:
        yield
    finally:
        holder.close()


def bench_one(db: Path, mode: str, repeat: int, workers: int) -> dict:
    """Interleaved CLI / probe pairs (background load hits both alike); medians and peaks."""
    with journal(db, mode):
        warm(db)
        cli, probe = [], []
        for _ in range(repeat):
            cli.append(run_cli(db))
            probe.append(run_probe(db, "--workers", str(workers)))
    facts = json.loads(probe[-1].out) if probe[-1].rc in (0, 1) else {}
    cli_ok = all(r.rc == 0 and r.out.split() == ["ok"] for r in cli)
    probe_ok = all(r.rc == 0 for r in probe)

    def med(runs: list[Run], key: str) -> float:
        return statistics.median(getattr(r, key) for r in runs)

    inproc = statistics.median(json.loads(r.out)["seconds"]["live"] for r in probe if r.rc in (0, 1))
    return dict(cli=med(cli, "wall"), probe=med(probe, "wall"), inproc=inproc, cli_cpu=med(cli, "cpu"),
                probe_cpu=med(probe, "cpu"), cli_rss=max(r.rss_kb for r in cli),
                probe_rss=max(r.rss_kb for r in probe), cli_priv=max(r.private_kb for r in cli),
                probe_priv=max(r.private_kb for r in probe), cli_anon=max(r.anon_kb for r in cli),
                probe_anon=max(r.anon_kb for r in probe), facts=facts,
                verdicts="same: 3/3 clean" if cli_ok and probe_ok else f"DIFFER: CLI {cli_ok}, probe {probe_ok}")


def _mb(kb: int) -> str:
    return f"{kb / 1024:,.0f}"


def truncate_half(path: Path) -> str:
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    return f"cut from {size:,} to {size // 2:,} bytes"


def fault_cases(scale: float, workers: int, tmp: Path) -> list[tuple[str, str, str, str, str]]:
    db = seed.ensure(scale)
    faults = [
        ("index disagrees with its table", lambda p: seed.corrupt_index(p, "idx_chat_messages_0")),
        ("damaged table page", lambda p: seed.corrupt_page(p, "chat_messages")),
        ("free pages dropped from the freelist", seed.orphan_free_pages),
        ("foreign key to a missing parent", seed.add_fk_violation),
        ("truncated file", truncate_half),
    ]
    rows = []
    for name, damage in faults:
        copy = tmp / "fault.db"
        shutil.copyfile(db, copy)
        shapes.set_journal(copy, "rollback")
        what = damage(copy)
        cli = cli_verdict(copy)
        par, first = probe_verdict(run_probe(copy, "--full", "--workers", str(workers)))
        whole, _ = probe_verdict(run_probe(copy, "--full", "--workers", "1"))
        rows.append((f"{name} ({what})", cli, par, whole, first))
        copy.unlink()
    return rows


HEADER = ("| shape | db | journal | load | CLI s | probe process s | **ratio** | check_live s (in the gate's "
          "process) | ratio in-process | CPU s CLI / probe "
          "| peak RSS MB CLI / probe | peak private MB CLI / probe | peak anon MB CLI / probe | verdicts | probe read it |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bench_db", description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default="seed,wide,blobs,many", help="comma separated: " + ",".join(shapes.SHAPES))
    ap.add_argument("--sizes", default="60MB,600MB", help="comma separated: " + ",".join(shapes.SIZE_BYTES))
    ap.add_argument("--journals", default="wal,rollback")
    ap.add_argument("--big", action="store_true", help="add 6GB (builds each shape once: minutes, 6 GB of disk each)")
    ap.add_argument("--quick", action="store_true", help="CI mode: 6MB seed, one pair, faults")
    ap.add_argument("--repeat", type=int, default=3, help="pairs per measurement; the median is shown")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--no-faults", action="store_true")
    args = ap.parse_args(argv)
    sizes = ["6MB"] if args.quick else args.sizes.split(",") + (["6GB"] if args.big else [])
    kinds = ["seed"] if args.quick else args.shapes.split(",")
    repeat = 1 if args.quick else args.repeat
    print("# DB gate's probe vs sqlite3 CLI\n")
    print("\n".join(machine()) + f"\n- probe workers: {args.workers}; median of {repeat} interleaved pair(s)\n")
    print(HEADER)
    agree, worst = True, 0.0
    for size in sizes:
        for shape in kinds:
            db = shapes.ensure(shape, size)
            for mode in args.journals.split(","):
                load = os.getloadavg()[0]
                r = bench_one(db, mode, repeat, args.workers)
                agree &= r["verdicts"].startswith("same")
                ratio = r["probe"] / r["cli"]
                worst = max(worst, ratio)
                f = r["facts"]
                print(f"| {shape} | {db.stat().st_size / 1e6:,.0f} MB, {f.get('table_count', '?')} tables, "
                      f"{f.get('total_rows', 0):,} rows | {mode} | {load:.1f} | {r['cli']:.2f} | {r['probe']:.2f} "
                      f"| **{ratio:.2f}** | {r['inproc']:.2f} | {r['inproc'] / r['cli']:.2f} "
                      f"| {r['cli_cpu']:.2f} / {r['probe_cpu']:.2f} "
                      f"| {_mb(r['cli_rss'])} / {_mb(r['probe_rss'])} | {_mb(r['cli_priv'])} / {_mb(r['probe_priv'])} "
                      f"| {_mb(r['cli_anon'])} / {_mb(r['probe_anon'])} | {r['verdicts']} "
                      f"| {f.get('method', '?').split(':')[0].split(' (')[0]}, {f.get('mode')} |")
                sys.stdout.flush()
    print(f"\nworst process ratio {worst:.2f}; load average at end {os.getloadavg()[0]:.2f}. The probe process "
          "includes Python's start and imports (0.1 to 0.3 s here); the gate pays only check_live.\n")
    if args.no_faults:
        return 0 if agree else 1
    print("| seeded fault (on a rollback-journal copy) | CLI | probe parallel | probe 1 worker | SQLite's first words "
          "(probe) | same |\n|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="vx11-bench-") as tmp:
        for name, cli, par, whole, first in fault_cases(seed.SIZES["6MB" if args.quick else "60MB"],
                                                        args.workers, Path(tmp)):
            ok = same(cli, par) and same(cli, whole)
            agree &= ok
            print(f"| {name} | {cli} | {par} | {whole} | {first} | {'yes' if ok else 'NO'} |")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
