"""Peak memory of `tasteget status import` against the size of the file (issue 9, finding 16:
a 50 MB file took 4 GB). Target: 1,000,000 rows under 200 MB peak RSS.

    python bench/import_memory.py [--rows 1000000] [--tenant-rows 2000,8000]

Each run is the real command in a process of its own (`status import FILE --format csv
--output OUT`), its peak RSS read from os.wait4, against `tasteget sandbox serve` in another
process (harness.py):

- offline: --rows lines with person ids 1..N whose status is not in the config, so every line
  gets its result row without a request: reading, parsing and the streamed output at full size.
  (A request per line is capped by the client's rate limit, at most 1000/s by config: a
  million lines would take more than 17 minutes.)
- tenant: --tenant-rows lines with a real status (--dry-run), so every line reads its person
  from the tenant (404: the tenant has nobody) and is remembered for the repeat check: memory
  must not grow with the number of lines either.

Exit status 1 if the million-line run is at or over 200 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import harness

TARGET_MB = 200.0


def write_file(path: Path, rows: int, status: str) -> float:
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("person_id,status,moved_to,date\n")
        for n in range(1, rows + 1):
            handle.write(f"{n},{status},,\n")
    return path.stat().st_size / 1e6


def run(config: Path, file: Path, out: Path, dry_run: bool) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MB, exit status of one `status import` process."""
    argv = [
        sys.executable, "-c", "from ta_steget_cli.cli import main; main()",
        "--config", str(config), "status", "import", str(file),
        "--format", "csv", "--output", str(out), *(["--dry-run"] if dry_run else []),
    ]  # fmt: skip
    began = time.perf_counter()
    pid = os.spawnve(os.P_NOWAIT, sys.executable, argv, harness.sandbox_env())
    _, status, usage = os.wait4(pid, 0)
    return time.perf_counter() - began, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tenant-rows", default="2000,8000")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tasteget-import-bench-") as name:
        folder = Path(name)
        sandbox = harness.start_sandbox(0, "0", date.today(), folder)
        try:
            config = harness.write_config(folder, sandbox.api_url, 1000, 1000.0)
            print("| mode | rows | file MB | wall s | peak RSS MB | exit |")
            print("|---|---:|---:|---:|---:|---:|")
            sizes = [(options.rows // 10, False), (options.rows, False)]
            sizes += [(int(n), True) for n in options.tenant_rows.split(",") if n]
            worst = 0.0
            for rows, dry_run in sizes:
                file = folder / f"import-{rows}.csv"
                size = write_file(file, rows, "interested" if dry_run else "no_such_status")
                wall, rss, code = run(config, file, folder / "out.csv", dry_run)
                mode = "tenant (--dry-run)" if dry_run else "offline"
                print(f"| {mode} | {rows:,} | {size:.1f} | {wall:.1f} | {rss:.0f} | {code} |")
                if rows == options.rows and not dry_run:
                    worst = rss
                file.unlink()
        finally:
            sandbox.stop()
    ok = worst < TARGET_MB
    print(f"\n{options.rows:,} rows: {worst:.0f} MB peak RSS, target < {TARGET_MB:.0f} MB: "
          f"{'met' if ok else 'MISSED'}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
