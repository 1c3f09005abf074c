"""Benchmark the killmail importer against its limits, on a private cluster.

Usage:
    .venv/bin/python bench/import.py --mode jsonl [--count N]
    .venv/bin/python bench/import.py --mode archives
    .venv/bin/python bench/import.py --mode memory [--count N]

``jsonl``: import N generated killmails from JSON Lines into a fresh schema,
then, in the same run, COPY the same rows into the same tables in binary
format with nothing else to do (the raw limit). Target: import throughput at
least 70 % of the raw limit.

``archives``: the floor is the time to read the seven EVE Ref archives in
this process, in one thread, with bzip2, tar and JSON parsing and nothing
else. Then they are imported into a fresh schema; the importer's reader
process uses the same bzip2 decoder in a second thread. Target: import time
at most 1.3 times the floor. The run also reports the CPU seconds of the
importer, its reader process and the server, and the statement times.

``memory``: import N generated killmails (default 1,000,000) and report the
peak resident memory (``VmHWM``) of the importer and of its reader process.
Target: 250 MB.

The cluster runs with fsync off (throw-away data). The last output line is
one JSON object with the figures and the ratio to the target.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec
import psutil

from evedmv_tui.generate import write_jsonl
from evedmv_tui.ingest import writer as ingest_writer
from evedmv_tui.ingest.encode import (
    ATTACKER_COLUMNS,
    INDEX_COLUMNS,
    ITEM_COLUMNS,
    KILLMAIL_COLUMNS,
    killmail_row,
)
from evedmv_tui.ingest.importer import DEFAULT_BATCH_SIZE, import_paths
from evedmv_tui.ingest.shapes import ParsedKillmail, parse_document
from evedmv_tui.ingest.sources import FileReader, expand_paths
from evedmv_tui.store.cluster import PrivateCluster
from evedmv_tui.store.connect import ensure_database
from evedmv_tui.store.db import Database
from evedmv_tui.store.migrate import migrate
from evedmv_tui.store.telemetry import Telemetry

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ARCHIVES = DATA / "killmails" / "everef"
TARGET_SHARE = 0.70
TARGET_FLOOR_RATIO = 1.3
TARGET_MEMORY_MB = 250.0
SEED = 11


def _cluster(base: Path) -> PrivateCluster:
    cluster = PrivateCluster(base / "cluster", fast=True)
    cluster.start()
    return cluster


def _fresh_database(cluster: PrivateCluster, name: str) -> Database:
    ensure_database(cluster, name)
    db = Database(cluster.url(name), max_size=4, telemetry=Telemetry(500_000))
    migrate(db)
    return db


def _statement_seconds(db: Database) -> dict[str, float]:
    """Return the seconds spent per statement name since the last call."""
    totals: dict[str, float] = {}
    for record in db.telemetry.records():
        totals[record.name] = totals.get(record.name, 0.0) + record.seconds
    db.telemetry.clear()
    return {name: round(seconds, 3) for name, seconds in sorted(totals.items())}


def _generated(count: int, directory: Path) -> Path:
    path = directory / f"generated-{count}-seed{SEED}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".part")
        write_jsonl(partial, count, SEED)
        partial.rename(path)
        print(f"generated {count:,} killmails in {time.perf_counter() - started:.1f} s")
    return path


def _parsed(path: Path) -> Iterator[ParsedKillmail]:
    for document in FileReader(path).documents():
        for record in parse_document(
            document.raw, source_file=str(path), position=document.position
        ):
            if isinstance(record, ParsedKillmail):
                yield record


def _raw_copy(db: Database, path: Path, batch_size: int) -> tuple[float, int]:
    """COPY the rows of ``path`` into the tables; return seconds and killmails.

    Rows are built before the clock starts; each batch is one transaction
    with one binary COPY per table, as the importer does.
    """
    seen_at = dt.datetime.now(dt.UTC)
    batches: list[tuple[list[Any], list[Any], list[Any], list[Any]]] = []
    current: tuple[list[Any], list[Any], list[Any], list[Any]] = ([], [], [], [])
    for record in _parsed(path):
        killmail = record.killmail
        current[0].append(
            (
                killmail.killmail_id,
                record.killmail_hash,
                killmail.killmail_time,
                "stored",
                record.source,
                None,
            )
        )
        current[1].append(killmail_row(record, record.zkb, record.zkb_body, seen_at))
        current[2].extend(record.attacker_rows)
        current[3].extend(record.item_rows)
        if len(current[0]) >= batch_size:
            batches.append(current)
            current = ([], [], [], [])
    if current[0]:
        batches.append(current)
    count = sum(len(batch[0]) for batch in batches)
    started = time.perf_counter()
    with db.connection() as conn:
        for index_rows, killmails, attackers, items in batches:
            with conn.transaction():
                ingest_writer.copy_rows(
                    db, conn, "killmail_index", INDEX_COLUMNS, index_rows
                )
                ingest_writer.copy_rows(
                    db, conn, "killmails", KILLMAIL_COLUMNS, killmails
                )
                ingest_writer.copy_rows(
                    db, conn, "attackers", ATTACKER_COLUMNS, attackers
                )
                ingest_writer.copy_rows(db, conn, "items", ITEM_COLUMNS, items)
    return time.perf_counter() - started, count


def _truncate(db: Database) -> None:
    db.execute(
        "TRUNCATE killmail_index, killmails, attackers, items, rejects, reject_imports"
    )
    db.telemetry.clear()
    db.execute("VACUUM ANALYZE killmails, attackers, items, killmail_index")


def bench_jsonl(count: int, work: Path) -> dict[str, Any]:
    path = _generated(count, work)
    cluster = _cluster(work)
    try:
        db = _fresh_database(cluster, "bench_jsonl")
        # Import, raw COPY, import again: the machine is shared, so the
        # import time is the mean of the two runs around the raw one.
        import_runs = []
        for run in range(2):
            if run:
                _truncate(db)
                # Use new connections, as a new import command does. Pooled
                # ones re-plan their prepared index lookup on the emptied
                # table as a sequential scan and keep it for the whole run.
                db.close()
                db = Database(
                    cluster.url("bench_jsonl"), max_size=4, telemetry=Telemetry(500_000)
                )
            started = time.perf_counter()
            summary = import_paths(db, [path], offline=True)
            import_runs.append(time.perf_counter() - started)
            print(
                f"import: {summary.inserted:,} killmails in {import_runs[-1]:.2f} s"
                f" ({summary.inserted / import_runs[-1]:,.0f}/s)"
            )
            print(f"  statements: {_statement_seconds(db)}")
            if run == 0:
                attackers = db.fetch_value("SELECT count(*) FROM attackers")
                items = db.fetch_value("SELECT count(*) FROM items")
                _truncate(db)
                raw_seconds, raw_count = _raw_copy(db, path, DEFAULT_BATCH_SIZE)
                print(
                    f"raw binary COPY: {raw_count:,} killmails in {raw_seconds:.2f} s"
                    f" ({raw_count / raw_seconds:,.0f}/s)"
                )
                print(f"  statements: {_statement_seconds(db)}")
        import_seconds = sum(import_runs) / len(import_runs)
        db.close()
    finally:
        cluster.destroy()
    share = raw_seconds / import_seconds
    print(f"import throughput is {share:.0%} of the raw COPY limit")
    return {
        "benchmark": "import.jsonl",
        "killmails": summary.inserted,
        "attackers": attackers,
        "items": items,
        "import_seconds": round(import_seconds, 3),
        "import_runs_seconds": [round(seconds, 3) for seconds in import_runs],
        "import_per_second": round(summary.inserted / import_seconds),
        "raw_copy_seconds": round(raw_seconds, 3),
        "raw_copy_per_second": round(raw_count / raw_seconds),
        "share_of_raw": round(share, 3),
        "target_share": TARGET_SHARE,
        "ratio_to_target": round(share / TARGET_SHARE, 3),
    }


def _floor(files: list[Path]) -> tuple[float, int]:
    """Read every archive here: bzip2, tar and JSON parsing, nothing else."""
    decoder = msgspec.json.Decoder()
    documents = 0
    started = time.perf_counter()
    for path in files:
        for document in FileReader(path).documents():
            decoder.decode(document.raw)
            documents += 1
    return time.perf_counter() - started, documents


def _server_cpu_seconds(cluster: PrivateCluster) -> float:
    """Return the CPU seconds used so far by the cluster's running processes.

    Processes that exited before the call (autovacuum workers, closed
    connections) are not counted.
    """
    pid_file = cluster.directory / "postmaster.pid"
    postmaster = psutil.Process(int(pid_file.read_text().split("\n", 1)[0]))
    total = 0.0
    for process in [postmaster, *postmaster.children()]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _children_cpu_seconds() -> float:
    """Return the CPU seconds of this process's ended and waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_archives(work: Path) -> dict[str, Any]:
    files = expand_paths([ARCHIVES])
    files = [path for path in files if path.name.endswith(".tar.bz2")]
    floor_cpu = time.process_time()
    floor_seconds, documents = _floor(files)
    floor_cpu = time.process_time() - floor_cpu
    print(
        f"floor: {documents:,} documents, {len(files)} archives, {floor_seconds:.2f} s"
        f" ({floor_cpu:.2f} s CPU)"
    )
    cluster = _cluster(work)
    try:
        db = _fresh_database(cluster, "bench_archives")
        db.telemetry.clear()
        server_cpu = _server_cpu_seconds(cluster)
        reader_cpu = _children_cpu_seconds()
        importer_cpu = time.process_time()
        started = time.perf_counter()
        summary = import_paths(db, files, offline=True)
        import_seconds = time.perf_counter() - started
        importer_cpu = time.process_time() - importer_cpu
        reader_cpu = _children_cpu_seconds() - reader_cpu
        server_cpu = _server_cpu_seconds(cluster) - server_cpu
        statements = _statement_seconds(db)
        db.close()
    finally:
        cluster.destroy()
    ratio = import_seconds / floor_seconds
    print(
        f"import: {summary.inserted:,} killmails in {import_seconds:.2f} s,"
        f" {ratio:.2f} times the floor"
    )
    print(
        f"  CPU seconds: importer {importer_cpu:.2f}, reader processes"
        f" {reader_cpu:.2f}, server {server_cpu:.2f}"
    )
    print(f"  statements: {statements}")
    return {
        "benchmark": "import.archives",
        "archives": len(files),
        "killmails": summary.inserted,
        "floor_seconds": round(floor_seconds, 3),
        "floor_cpu_seconds": round(floor_cpu, 3),
        "import_seconds": round(import_seconds, 3),
        "importer_cpu_seconds": round(importer_cpu, 3),
        "reader_cpu_seconds": round(reader_cpu, 3),
        "server_cpu_seconds": round(server_cpu, 3),
        "ratio_to_floor": round(ratio, 3),
        "target_ratio": TARGET_FLOOR_RATIO,
        "ratio_to_target": round(ratio / TARGET_FLOOR_RATIO, 3),
    }


def _peak_rss_mb(pid: int | str = "self") -> float:
    """Return the peak resident set size (``VmHWM``) of a process in MB.

    ``ru_maxrss`` would overstate it, because Linux starts a child's
    ``ru_maxrss`` at the parent's peak when ``subprocess`` starts the child
    with vfork and execve. A child with a 10.8 MB ``VmHWM`` reported 311 MB
    after its parent had freed 300 MB. ``VmHWM`` belongs to the process's
    own address space, which ``execve`` replaces.
    """
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _watch_readers(peaks: dict[int, float], stop: threading.Event) -> None:
    """Record the peak RSS of each reader process until ``stop`` is set.

    Readers are the children started by ``multiprocessing.spawn``. The
    multiprocessing resource tracker, also a child, is left out.
    """
    me = psutil.Process()
    while not stop.wait(0.05):
        for child in me.children():
            # The child may exit between the listing and the reads.
            with contextlib.suppress(OSError, RuntimeError, psutil.Error):
                if any("spawn_main" in part for part in child.cmdline()):
                    peaks[child.pid] = _peak_rss_mb(child.pid)


def _measure_import(path: Path, url: str) -> None:
    """Import ``path`` in this fresh process and print its peak RSS as JSON.

    The reader processes' peaks are sampled every 50 ms while they run, so
    growth in a reader's last 50 ms would be missed.
    """
    reader_peaks: dict[int, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(
        target=_watch_readers, args=(reader_peaks, stop), daemon=True
    )
    watcher.start()
    db = Database(url, max_size=4)
    started = time.perf_counter()
    summary = import_paths(db, [path], offline=True)
    seconds = time.perf_counter() - started
    db.close()
    stop.set()
    watcher.join()
    peak = _peak_rss_mb()
    # Readers run at the same time, so the sum of their peaks is an upper
    # bound of their joint peak.
    readers = sum(reader_peaks.values())
    print(json.dumps([summary.inserted, seconds, peak, readers]))


def bench_memory(count: int, work: Path) -> dict[str, Any]:
    path = _generated(count, work)
    cluster = _cluster(work)
    try:
        db = _fresh_database(cluster, "bench_memory")
        db.close()
        # A process of its own, so the peak is the importer's alone and not
        # the generator's or the benchmark's.
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--measure",
                str(path),
                cluster.url("bench_memory"),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        cluster.destroy()
    inserted, seconds, main_mb, reader_mb = json.loads(child.stdout.splitlines()[-1])
    # The reader process and the importer run at the same time, so the sum
    # of their peaks is an upper bound of the importer's peak.
    total_mb = main_mb + reader_mb
    print(
        f"import: {inserted:,} killmails in {seconds:.1f} s; peak RSS"
        f" {main_mb:.0f} MB in the importer, {reader_mb:.0f} MB in its reader"
    )
    return {
        "benchmark": "import.memory",
        "killmails": inserted,
        "seconds": round(seconds, 1),
        "peak_rss_main_mb": round(main_mb, 1),
        "peak_rss_reader_mb": round(reader_mb, 1),
        "peak_rss_total_mb": round(total_mb, 1),
        "target_mb": TARGET_MEMORY_MB,
        "ratio_to_target": round(total_mb / TARGET_MEMORY_MB, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mode", choices=("jsonl", "archives", "memory"), default="jsonl"
    )
    parser.add_argument(
        "--count",
        type=int,
        help="generated killmails (default 100,000 for jsonl, 1,000,000 for memory)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where the cluster and generated files go (default: a new temp dir)",
    )
    parser.add_argument(
        "--measure", nargs=2, metavar=("PATH", "URL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.measure:
        _measure_import(Path(args.measure[0]), args.measure[1])
        return 0
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="evedmv-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    work.chmod(0o711)
    if args.mode == "jsonl":
        result = bench_jsonl(args.count or 100_000, work)
    elif args.mode == "archives":
        result = bench_archives(work)
    else:
        result = bench_memory(args.count or 1_000_000, work)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
