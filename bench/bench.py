"""Benchmark of every reading command, and of the purge's apply, against sandbox tenants of
several sizes and answer times.

    python bench/bench.py [--sizes 10000,50000,200000] [--latencies 0.01,0.3,1,0.1-0.9]
                          [--rate 10] [--workers N] [--commands overdue,purge,status,report]
                          [--page-size 1000] [--max-top 500] [--purge-only-above 50000]
                          [--apply-persons 300]
                          [--tool-src OTHER_CHECKOUT/src]

For each answer time (seconds, or LEAST-MOST for a time drawn anew for every answer) and size, a
sandbox tenant (bench/serve.py: the generator's made-up register laid out around --as-of) starts
in its own process; each command then runs in a process of its own at --rate requests per second
and --workers requests at once (default: the config's max_in_flight default) (see harness.py for
what is counted and how the minimum is defined). Printed: a markdown table of requests, the
minimum the page size allows, their ratio, wall time against requests / rate, and the peak RSS of
the tool's process, with the targets of issues 3, 4, 5 and 16: requests within 1.2x the
minimum; wall time within 1.2x requests / rate at 10 ms answers and 1.3x at 300 ms (at 1 s and
with spread answers the figures are shown, not judged); overdue < 150 MB at 50,000 persons;
purge --dry-run < 200 MB at 200,000. After the first purge dry run of each answer time, the
first --apply-persons persons of its plan are purged for real through the purge service (read,
back up, journal, delete), and its throughput is set against the rate limit's two calls per
person (target: at least 90 %). --tool-src runs the tool from another checkout (an earlier
commit, for a before/after comparison against the same sandbox).
Exit status 1 if any target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import harness

KOMMUN = "Östersund"
# Memory limits of the issues; they are stated for the largest size each is asked at, and
# hold for the smaller ones a fortiori.
MEMORY_MB = {"overdue": 150.0, "purge": 200.0}
# Wall time against requests / rate, by answer time: issue 5 at 10 ms, issue 16 at 300 ms.
WALL_TARGETS = {"0.01": 1.2, "0.3": 1.3}


def argv_for(command: str, as_of: date, folder: Path) -> list[str]:
    """The real command line of each benchmarked command (JSON into a file, not a pipe)."""
    common = ["--as-of", as_of.isoformat(), "--format", "json", "--output", str(folder / "out")]
    if command == "overdue":
        return ["overdue", "--all", *common]
    if command == "purge":
        return ["purge", "--dry-run", *common, "--plan-out", str(folder / "plan.json")]
    if command == "status":
        return ["status", "list", "--kommun", KOMMUN, *common]
    if command == "report":
        return ["report", "--year", str(as_of.year), *common]
    raise SystemExit(f"unknown command {command!r}: overdue, purge, status, report")


def label(command: str) -> str:
    return {
        "overdue": "overdue --all",
        "purge": "purge --dry-run",
        "status": f"status list --kommun {KOMMUN}",
        "report": "report --year",
    }[command]


def bench_size(
    persons: int, latency: str, commands: list[str], options: argparse.Namespace, folder: Path
) -> list[harness.Result]:
    sandbox = harness.start_sandbox(persons, latency, options.as_of, folder, options.max_top)
    print(f"sandbox: {persons:,} persons up in {sandbox.built_seconds:.1f} s", file=sys.stderr)
    results = []
    try:
        config = harness.write_config(
            folder, sandbox.api_url, options.page_size, options.rate, options.workers
        )
        for command in commands:
            results.append(measure(command, persons, latency, config, options, folder))
            if command == "purge" and options.apply_persons and latency not in options.applied:
                line = bench_apply(config, folder / "plan.json", options)
                options.applied[latency] = f"{harness.latency_label(latency)}: {line}"
    finally:
        sandbox.stop()
    return results


def measure(
    command: str,
    persons: int,
    latency: str,
    config: Path,
    options: argparse.Namespace,
    folder: Path,
) -> harness.Result:
    argv = ["--config", str(config), *argv_for(command, options.as_of, folder)]
    rows = harness.answer_rows(options.page_size, options.max_top)
    figures = harness.run_measured(argv, options.page_size, rows, folder, options.tool_src)
    result = harness.Result(
        command=label(command),
        persons=persons,
        requests=figures["requests"],
        minimum=figures["minimum"],
        wall=figures["wall"],
        rate=options.rate,
        peak_rss_mb=figures["peak_rss_mb"],
        target_mb=MEMORY_MB.get(command),
        questions=figures["questions"],
        by_kind=figures["by_kind"],
        answers=figures["answers"],
        latency=latency,
        wall_target=WALL_TARGETS.get(latency),
    )
    print(harness.row(result), file=sys.stderr)
    slowest = max(result.answers, default=0.0)
    print(
        f"    answers: slowest {slowest * 1000:.0f} ms; sum(max(1/rate, answer)) = "
        f"{result.floor:.1f} s, the least a one-at-a-time client can take",
        file=sys.stderr,
    )
    if options.detail:
        for line in (*result.questions, str(result.by_kind)):
            print(f"    {line}", file=sys.stderr)
    return result


def bench_apply(config_path: Path, plan_path: Path, options: argparse.Namespace) -> str:
    """Purge the first persons of the dry run's plan through the service; a line of figures."""
    from ta_steget_cli import journal as j
    from ta_steget_cli import purge as service
    from ta_steget_cli.config import load_config, load_secrets
    from ta_steget_cli.superoffice import SuperOfficeClient

    plan = j.read_plan(plan_path)
    small = j.write_plan(
        replace(plan, persons=plan.persons[: options.apply_persons]), plan_path.with_name("small")
    )
    config = load_config(config_path)
    with SuperOfficeClient(config.superoffice, load_secrets(config, harness.sandbox_env())) as c:
        c.get_person(small.ids[0])  # connect and start the limiter's clock: not part of the rate
        began = time.perf_counter()
        result = service.apply_plan(c, config, small)
        seconds = time.perf_counter() - began
    persons = len(small.persons)
    per_second = persons / seconds
    allowed = options.rate / 2  # a read and a delete per person
    mark = "ok" if per_second >= 0.9 * allowed else "**missed**"
    line = (
        f"purge --plan (apply): {persons} persons in {seconds:.1f} s = {per_second:.2f} persons/s "
        f"against {allowed:g} allowed by {options.rate:g} calls/s ({per_second / allowed:.1%}; "
        f"target ≥ 90 %: {mark}); {result.done} deleted, {len(result.skipped)} skipped, "
        f"{len(result.failed)} failed"
    )
    print(line, file=sys.stderr)
    return line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,50000,200000")
    parser.add_argument(
        "--latencies", default="0.01", help="answer times: SECONDS or LEAST-MOST, comma-separated"
    )
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=None, help="max_in_flight (default: 4)")
    parser.add_argument("--tool-src", type=Path, default=None, help="the tool from another src/")
    parser.add_argument("--commands", default="overdue,purge,status,report")
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--max-top",
        type=int,
        default=None,
        help="the sandbox's most rows per answer (0: no cap; default: its realism's 500)",
    )
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 18))
    parser.add_argument(
        "--purge-only-above",
        type=int,
        default=50_000,
        help="above this size only purge --dry-run runs (issue 4 asks it at 200,000)",
    )
    parser.add_argument("--detail", action="store_true", help="every archive question")
    parser.add_argument(
        "--apply-persons", type=int, default=300, help="persons to purge for real (0: none)"
    )
    options = parser.parse_args()
    options.applied = {}
    sizes = [int(size) for size in options.sizes.split(",")]
    latencies = options.latencies.split(",")
    commands = options.commands.split(",")
    for command in commands:
        label(command)  # unknown names fail before any sandbox starts

    results: list[harness.Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        for latency in latencies:
            for persons in sizes:
                chosen = commands
                if persons > options.purge_only_above:
                    chosen = [c for c in commands if c == "purge"]
                if chosen:
                    results += bench_size(persons, latency, chosen, options, Path(tmp))
    workers = "the default" if options.workers is None else str(options.workers)
    print(
        f"page size {options.page_size} (answers of at most "
        f"{harness.answer_rows(options.page_size, options.max_top)} rows), "
        f"{options.rate:g} requests/s, max_in_flight {workers}, as of {options.as_of}\n"
    )
    print(harness.HEADER)
    print(harness.RULE)
    for result in results:
        print(harness.row(result))
    for line in options.applied.values():
        print(f"\n{line}")
    applied_ok = all("**missed**" not in line for line in options.applied.values())
    return 0 if all(r.ok for r in results) and applied_ok else 1


if __name__ == "__main__":
    sys.exit(main())
