"""Benchmark of the yearly purge against a big sandbox tenant over real HTTP.

    python bench/bench_purge.py [--persons 200000] [--latency 0.01] [--rate 10]
                                [--apply-persons 300] [--page-size 1000]

The sandbox runs in a separate process (so the tool's memory is measured alone), built by the
sandbox's own generator (`SandboxTenant(persons=N)`: purge candidates, subscribers, recent and
old activity, mailings), with `--latency` seconds added to every API answer.

1. Dry run: `tasteget purge --dry-run --plan-out` in this process. Printed: HTTP requests made
   (counted by the server) against the minimum the page size allows:
     - a keyset scan of R rows needs ceil((R + 1) / page_size) requests (a full last page must be
       followed by an empty one to know it was the last);
     - an id-chunked lookup of I ids answering R rows needs ceil(max(I, R) / page_size);
   their ratio (target <= 1.2) and peak memory (max RSS of this process; target < 200 MB).
2. Apply: the first `--apply-persons` persons of that plan, at `--rate` calls per second. Each
   person costs two calls (read, delete), plus one activity re-check per block of 100. Printed:
   persons per second against rate / 2 (target: within 10 %).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

AS_OF = date(2026, 3, 18)


# ---------------------------------------------------------------- the tenant (child process)


def serve(conn: Connection, persons: int, seed: int, latency: float) -> None:
    """The child: build, serve on loopback, answer request counts until told to stop."""
    from ta_steget_cli.sandbox import SandboxServer, SandboxTenant

    began = time.perf_counter()
    tenant = SandboxTenant(persons=persons, seed=seed, today=AS_OF)
    tenant.latency = latency
    with SandboxServer(tenant) as server:
        conn.send((server.api_url, time.perf_counter() - began))
        while True:
            command = conn.recv()
            if command == "stop":
                break
            with tenant.lock:
                counts = Counter(
                    f"{method} {'/v1/Person/{id}' if '/v1/Person/' in path else path}"
                    for method, path, _ in tenant.requests
                )
                tenant.requests.clear()
            conn.send(dict(counts))


# ---------------------------------------------------------------- counting what the tool asks


@dataclass
class Calls:
    """Rows each scan and id lookup answered, for the minimum number of requests."""

    page_size: int
    scans: list[tuple[str, str, int]] = field(default_factory=list)  # (provider, filter, rows)
    lookups: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])  # (provider, filter) -> [ids, rows]
    )

    def minimum(self) -> int:
        scans = sum(math.ceil((rows + 1) / self.page_size) for _, _, rows in self.scans)
        lookups = sum(
            math.ceil(max(ids, rows) / self.page_size) for ids, rows in self.lookups.values()
        )
        return scans + lookups

    def describe(self) -> list[str]:
        lines = [
            f"  scan {provider} [{where[:60]}]: {rows} rows, minimum "
            f"{math.ceil((rows + 1) / self.page_size)}"
            for provider, where, rows in self.scans
        ]
        for (provider, where), (ids, rows) in self.lookups.items():
            least = math.ceil(max(ids, rows) / self.page_size)
            lines.append(
                f"  by ids {provider} [{where[:60]}]: {ids} ids, {rows} rows, minimum {least}"
            )
        return lines


def instrument(calls: Calls) -> Callable[[], None]:
    """Wrap the client's scan and by_ids to count rows; returns the undo. A logical lookup is
    one filter: the adaptive chunks of one question are added up, as the minimum is defined."""
    from ta_steget_cli.superoffice import SuperOfficeClient

    original_scan, original_by_ids = SuperOfficeClient.scan, SuperOfficeClient.by_ids

    def scan(self: Any, provider: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        rows = 0
        for row in original_scan(self, provider, **kwargs):
            rows += 1
            yield row
        calls.scans.append((provider, str(kwargs.get("filter")), rows))

    def by_ids(self: Any, provider: str, ids: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        ids = list(ids)
        entry = calls.lookups[(provider, str(kwargs.get("filter")))]
        entry[0] += len(set(ids))
        for row in original_by_ids(self, provider, ids, **kwargs):
            entry[1] += 1
            yield row

    SuperOfficeClient.scan = scan  # type: ignore[method-assign]
    SuperOfficeClient.by_ids = by_ids  # type: ignore[method-assign]

    def undo() -> None:
        SuperOfficeClient.scan = original_scan  # type: ignore[method-assign]
        SuperOfficeClient.by_ids = original_by_ids  # type: ignore[method-assign]

    return undo


# ---------------------------------------------------------------- the tool (this process)


def write_config(folder: Path, api_url: str, page_size: int, rate: float) -> Path:
    from ta_steget_cli.sandbox import ids

    def table(mapping: dict[str, int]) -> str:
        return "\n".join(f'"{name}" = {value}' for name, value in mapping.items())

    path = folder / "bench.toml"
    path.write_text(
        f"""[superoffice]
api_url = "{api_url}"
auth = "ticket"
page_size = {page_size}
requests_per_second = {rate}

[kommuner]
{table(ids.KOMMUN_INTERESTS)}

[move_status]
field = "{ids.MOVE_STATUS_FIELD}"
[move_status.values]
{table(ids.MOVE_STATUS_VALUES)}

[purge]
newsletter_interest = {ids.NEWSLETTER_INTEREST}
data_dir = "{folder / "data"}"
max_share = 1.0
""",
        encoding="utf-8",
    )
    return path


def run_cli(argv: list[str]) -> tuple[float, str]:
    """The CLI in this process: (wall seconds, stderr)."""
    from ta_steget_cli.cli import main

    err = io.StringIO()
    began = time.perf_counter()
    with contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                raise RuntimeError(f"tasteget exited with {exit_.code}: {err.getvalue()}") from None
    return time.perf_counter() - began, err.getvalue()


def small_plan(plan_path: Path, count: int, out: Path) -> Path:
    from ta_steget_cli import journal as j

    plan = j.read_plan(plan_path)
    j.write_plan(replace(plan, persons=plan.persons[:count]), out)
    return out


def apply_small(config_path: Path, plan_path: Path) -> tuple[float, int, Any]:
    """Apply the plan through the service (no share scan, no prompt): (seconds, persons)."""
    from ta_steget_cli import journal as j
    from ta_steget_cli import purge as service
    from ta_steget_cli.config import load_config, load_secrets
    from ta_steget_cli.superoffice import SuperOfficeClient

    config = load_config(config_path)
    plan = j.read_plan(plan_path)
    with SuperOfficeClient(config.superoffice, load_secrets(config)) as client:
        client.get_person(plan.ids[0])  # connect and warm the limiter: not part of the rate
        began = time.perf_counter()
        result = service.apply_plan(client, config, plan)
        return time.perf_counter() - began, len(plan.persons), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--latency", type=float, default=0.010)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--dry-run-rate", type=float, default=None,
                        help="calls/s for the dry run (default: --rate)")  # fmt: skip
    parser.add_argument("--apply-persons", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    from ta_steget_cli.sandbox import ids

    os.environ.update({"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN})
    context = multiprocessing.get_context("spawn")  # the child shares no memory with us
    ours, theirs = context.Pipe()
    child = context.Process(target=serve, args=(theirs, args.persons, args.seed, args.latency))
    child.start()
    ok = True
    try:
        api_url, built = ours.recv()
        print(f"sandbox: {args.persons} persons, built in {built:.1f} s, "
              f"latency {args.latency * 1000:.0f} ms, at {api_url}")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            dry_rate = args.dry_run_rate or args.rate
            config = write_config(folder, api_url, args.page_size, dry_rate)
            plan_path = folder / "plan.json"
            with contextlib.redirect_stdout(io.StringIO()):
                run_cli(["--help"])  # imports, not measured
            calls = Calls(args.page_size)
            undo = instrument(calls)
            try:
                wall, err = run_cli([
                    "--config", str(config), "purge", "--dry-run", "--as-of", AS_OF.isoformat(),
                    "--format", "json", "--output", str(folder / "list.json"),
                    "--plan-out", str(plan_path),
                ])  # fmt: skip
            finally:
                undo()
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            ours.send("count")
            by_path: dict[str, int] = ours.recv()
            requests = sum(by_path.values())
            least = calls.minimum()
            ratio = requests / least
            print(f"dry run ({dry_rate:g} calls/s): {err.strip().splitlines()[0]}")
            print(f"  requests: {requests} made, minimum {least}, ratio {ratio:.3f} "
                  f"(target <= 1.2); wall {wall:.1f} s")  # fmt: skip
            for path, count in sorted(by_path.items()):
                print(f"    {path}: {count}")
            print("\n".join(calls.describe()))
            print(f"  memory: max RSS {rss_mb:.1f} MB (target < 200)")
            ok = ratio <= 1.2 and rss_mb < 200

            config = write_config(folder, api_url, args.page_size, args.rate)
            small = small_plan(plan_path, args.apply_persons, folder / "small.json")
            seconds, persons, result = apply_small(config, small)
            ours.send("count")
            applied: dict[str, int] = ours.recv()
            throughput = persons / seconds
            target = args.rate / 2
            print(f"apply ({args.rate:g} calls/s): {persons} persons in {seconds:.1f} s = "
                  f"{throughput:.2f} persons/s; the rate allows {target:.2f} "
                  f"({throughput / target:.1%}; target >= 90 %); status {result.status}, "
                  f"deleted {result.done}, skipped {len(result.skipped)}")  # fmt: skip
            for path, count in sorted(applied.items()):
                print(f"    {path}: {count}")
            ok = ok and throughput >= 0.9 * target and result.status == "success"
    finally:
        ours.send("stop")
        child.join(timeout=10)
    print("result: " + ("all targets met" if ok else "TARGET MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
