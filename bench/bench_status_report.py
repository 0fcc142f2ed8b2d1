"""Benchmark of `tasteget status list` and `tasteget report` at 50,000 persons.

The sandbox tenant runs in a separate process (`tasteget sandbox serve`) with 10 ms latency per
API request. For each command the bench measures:

- requests against the minimum the page size allows. Each archive question the command asks is
  counted on its own: a keyset scan that returns R rows needs at least ceil((R + 1) / page_size)
  requests (the last, short page is how the scan knows it is done); an id-chunked lookup of N
  ids that returns R rows needs at least ceil(max(N, R) / page_size) (a request carries at most
  page_size ids and answers at most page_size rows). Goal: requests / minimum <= 1.2.
- wall time of the real command (a `tasteget` process with the default 10 requests/s), against
  requests / rate.
- peak memory (max RSS) of that process.

Run:  python bench/bench_status_report.py [--persons 50000] [--latency 0.01]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

KOMMUN = "Östersund"


# ---------------------------------------------------------------- counting


class CountingSource:
    """Wraps the client: rows and requests per archive question, grouped into lookups."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.page_size = client.settings.page_size
        self.settings = client.settings
        self.scans: list[tuple[str, int, int]] = []  # (what, rows, requests)
        self.lookups: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])

    def scan(self, provider: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        before = self.client.stats.requests
        rows = 0
        for row in self.client.scan(provider, **kwargs):
            rows += 1
            yield row
        self.scans.append((f"{provider} {kwargs.get('filter')}", rows, self.requests(before)))

    def by_ids(self, provider: str, ids: Iterable[int], **kwargs: Any) -> Iterator[dict[str, Any]]:
        ids = list(ids)
        key = (provider, kwargs.get("filter"), tuple(kwargs.get("entities") or ()))
        before = self.client.stats.requests
        rows = 0
        for row in self.client.by_ids(provider, ids, **kwargs):
            rows += 1
            yield row
        totals = self.lookups[key]
        totals[0] += len(set(ids))
        totals[1] += rows
        totals[2] += self.requests(before)

    def requests(self, before: int) -> int:
        return self.client.stats.requests - before

    def summary(self) -> dict[str, Any]:
        page = self.page_size
        scan_min = sum(math.ceil((rows + 1) / page) for _, rows, _ in self.scans)
        scan_req = sum(req for _, _, req in self.scans)
        look_min = sum(math.ceil(max(n, r) / page) for n, r, _ in self.lookups.values())
        look_req = sum(req for _, _, req in self.lookups.values())
        rows = sum(r for _, r, _ in self.scans) + sum(r for _, r, _ in self.lookups.values())
        minimum = scan_min + look_min
        requests = scan_req + look_req
        return {
            "scans": len(self.scans),
            "scan_requests": scan_req,
            "scan_minimum": scan_min,
            "lookups": len(self.lookups),
            "lookup_ids": sum(n for n, _, _ in self.lookups.values()),
            "lookup_rows": sum(r for _, r, _ in self.lookups.values()),
            "lookup_requests": look_req,
            "lookup_minimum": look_min,
            "rows": rows,
            "requests": requests,
            "minimum": minimum,
            "ratio": round(requests / minimum, 3) if minimum else None,
        }


def measure(config_path: Path, command: str, as_of: date) -> dict[str, Any]:
    """The command's service run in this process over a counting source (no rate limit)."""
    from dataclasses import replace

    from ta_steget_cli import report, status
    from ta_steget_cli.config import load_config, load_secrets
    from ta_steget_cli.register import Register
    from ta_steget_cli.superoffice import SuperOfficeClient

    config = load_config(config_path)
    # Counting needs no rate limit; the wall-time run below keeps the real default.
    settings = replace(config.superoffice, requests_per_second=1000.0)
    with SuperOfficeClient(settings, load_secrets(config)) as client:
        source = CountingSource(client)
        register = Register(source, config, as_of)
        began = time.perf_counter()
        if command == "status":
            out = len(status.list_statuses(register, kommun=KOMMUN))
        else:
            built = report.build_report(register, report.year_period(as_of.year))
            out = built.total.registrations
        result = source.summary()
        # Unthrottled: the sandbox's own query time plus parsing, i.e. what is not rate limit.
        result["unthrottled_seconds"] = round(time.perf_counter() - began, 2)
        result["items"] = out
        result["all_requests"] = client.stats.requests  # incl. login/state calls, if any
        return result


def run_cli(config_path: Path, args: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The real command in its own process: wall time and peak memory (max RSS)."""
    code = (
        "import resource, sys, json, time\n"
        "from ta_steget_cli.cli import app\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    app(args=sys.argv[1:], prog_name='tasteget', standalone_mode=False)\n"
        "finally:\n"
        "    sys.stderr.write(json.dumps({'wall': time.perf_counter() - t, 'rss_kb': "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}) + '\\n')\n"
    )
    cmd = [sys.executable, "-c", code, "--config", str(config_path), *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    return {
        "wall_seconds": round(figures["wall"], 2),
        "peak_rss_mb": round(figures["rss_kb"] / 1024, 1),
        "stdout_bytes": len(done.stdout),
    }


# ---------------------------------------------------------------- the sandbox process


def start_sandbox(persons: int, latency: float, as_of: date, folder: Path) -> tuple[Any, Path]:
    config = folder / "sandbox.toml"
    port = free_port()
    cmd = [
        sys.executable, "-c", "from ta_steget_cli.cli import main; main()", "sandbox", "serve",
        "--port", str(port), "--persons", str(persons), "--latency", str(latency),
        "--as-of", as_of.isoformat(), "--write-config", str(config),
    ]  # fmt: skip
    server = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    assert server.stderr is not None
    for line in server.stderr:
        if "Ctrl-C" in line:
            return server, config
    raise SystemExit(f"the sandbox did not start (exit {server.wait()})")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--latency", type=float, default=0.01)
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    options = parser.parse_args()
    from ta_steget_cli.sandbox import ids
    from ta_steget_cli.workdays import today_stockholm

    as_of = options.as_of or today_stockholm()
    env = {**os.environ, "TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}
    os.environ.update(env)
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        server, config = start_sandbox(options.persons, options.latency, as_of, Path(tmp))
        print(f"sandbox: {options.persons} persons, {options.latency * 1000:.0f} ms latency, "
              f"up in {time.perf_counter() - began:.1f} s; as of {as_of}")  # fmt: skip
        try:
            commands = {
                "status": ["status", "list", "--kommun", KOMMUN],
                "report": ["report", "--year", str(as_of.year)],
            }
            for name, args in commands.items():
                args = [*args, "--as-of", as_of.isoformat(), "--format", "json"]
                counted = measure(config, name, as_of)
                timed = run_cli(config, args, env)
                rate = 10.0
                counted["wall_floor_seconds"] = round(counted["requests"] / rate, 2)
                print(f"\ntasteget {' '.join(args)}")
                print(json.dumps({**counted, **timed}, indent=2))
                ok = counted["ratio"] is not None and counted["ratio"] <= 1.2
                print(f"requests/minimum = {counted['ratio']} ({'ok' if ok else 'OVER 1.2'})")
        finally:
            server.terminate()
            server.wait(timeout=10)
    print(f"\nmax RSS of this bench process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
