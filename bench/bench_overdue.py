"""Benchmark of `tasteget overdue --all` against a big sandbox tenant over real HTTP.

    python bench/bench_overdue.py [--persons 50000] [--window 5000] [--latency 0.01] [--rate 10]

The sandbox runs in a separate process (so the tool's memory is measured alone): `--persons`
persons, `--window` of them registered within the look-back window (120 days) before the as-of
date, activities laid out like the sandbox's generator (a form submission and often a form
confirmation, usually a move guide's answer within days, a few later activities, mailings for
subscribers), and `--latency` seconds added to every API answer. The tool runs in this process
with `requests_per_second = --rate` and `page_size = --page-size`.

Printed: HTTP requests made (counted by the server) against the minimum the page size allows:
  - a keyset scan of R rows needs ceil((R + 1) / page_size) requests (a full last page must be
    followed by an empty one to know it was the last);
  - an id-chunked lookup of I ids answering R rows needs ceil(max(I, R) / page_size) (each
    request can carry at most page_size ids, and can answer at most page_size rows);
the ratio of the two; wall time against requests / rate; and peak memory (tracemalloc's peak of
Python allocations during a second run, and the process's maximum resident set size).
Targets (issue 3): ratio <= 1.2, wall <= 1.2 x requests / rate, peak < 150 MB.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

STOCKHOLM = ZoneInfo("Europe/Stockholm")
AS_OF = date(2026, 3, 18)
LOOKBACK_DAYS = 120
DAY = timedelta(days=1)


# ---------------------------------------------------------------- the tenant (child process)


def build_tenant(persons: int, window: int, seed: int, latency: float) -> Any:
    """`persons` made-up persons, `window` of them registered within the look-back window."""
    from ta_steget_cli.sandbox import SandboxTenant, ids

    rnd = random.Random(seed)
    tenant = SandboxTenant(persons=0, seed=seed, today=AS_OF)
    start = datetime.combine(AS_OF, datetime.min.time(), STOCKHOLM)
    ages = [rnd.uniform(0, LOOKBACK_DAYS) for _ in range(window)]
    ages += [rnd.uniform(LOOKBACK_DAYS + 1, 6 * 365) for _ in range(persons - window)]
    kommuner = list(ids.KOMMUN_INTERESTS)
    guides = [(g[1], g[2]) for g in ids.MOVE_GUIDES]
    for n, age in enumerate(sorted(ages, reverse=True)):  # ids follow registration, as in life
        registered = start - age * DAY
        chosen = [] if rnd.random() < 0.15 else rnd.sample(kommuner, rnd.choice((1, 1, 2, 3)))
        subscriber = rnd.random() < 0.2
        pid = tenant.add_person(
            rnd.choice(("Anna", "Erik", "Åsa", "Zoë", "Ольга")),
            f"Testsson{n}",
            registered=registered,
            kommuner=chosen,
            email=f"p{n}@example.se" if rnd.random() < 0.85 else None,
            phone="070-174 06 50" if rnd.random() < 0.75 else None,
            preferred=rnd.choice((None, "phone", "email")),
            emarketing="active" if subscriber else None,
            our_contact=rnd.choice(guides)[0] if rnd.random() < 0.4 else None,
        )
        add_activities(tenant, pid, registered, start, rnd, guides, ids, subscriber)
    tenant.latency = latency
    return tenant


def add_activities(
    tenant: Any,
    pid: int,
    registered: datetime,
    now: datetime,
    rnd: random.Random,
    guides: list[tuple[str, str]],
    ids: Any,
    subscriber: bool,
) -> None:
    def add(kind: str, moment: datetime, by: tuple[str, str]) -> None:
        if moment < now:
            tenant.add_activity(pid, kind, date=moment, registered_by=by)

    add("formSubmission", registered, ids.FORM_USER)
    if rnd.random() < 0.7:
        add("document", registered + timedelta(seconds=30), ids.FORM_USER)
    if rnd.random() < 0.9:
        delay = rnd.choice((0, 1, 1, 2, 3, 4, 5)) if rnd.random() < 0.75 else rnd.randrange(7, 30)
        add(
            rnd.choice(("appointment", "document", "chat")),
            registered + delay * DAY,
            rnd.choice(guides),
        )
    span = max(1.0, (now - registered).total_seconds())
    for _ in range(rnd.choices((0, 1, 2, 3), (35, 35, 20, 10))[0]):
        moment = registered + timedelta(seconds=rnd.uniform(0, span))
        add(rnd.choice(("appointment", "document", "chat")), moment, rnd.choice(guides))
    if subscriber:
        for _ in range(rnd.randrange(1, 4)):
            add("mailing", registered + timedelta(seconds=rnd.uniform(0, span)), ids.MAILING_USER)


def serve(conn: Connection, persons: int, window: int, seed: int, latency: float) -> None:
    """The child: build, serve on loopback, answer request counts until told to stop."""
    from ta_steget_cli.sandbox import SandboxServer

    began = time.perf_counter()
    tenant = build_tenant(persons, window, seed, latency)
    with SandboxServer(tenant) as server:
        conn.send((server.api_url, time.perf_counter() - began))
        while True:
            command = conn.recv()
            if command == "stop":
                break
            with tenant.lock:
                counts = Counter(path for _, path, _ in tenant.requests)
                tenant.requests.clear()
            conn.send(dict(counts))


# ---------------------------------------------------------------- counting what the tool asks


@dataclass
class Calls:
    """Rows each scan and id lookup answered, for the minimum number of requests."""

    page_size: int
    scans: list[tuple[str, int]] = field(default_factory=list)  # (provider, rows)
    answers: list[float] = field(default_factory=list)  # seconds from send to full answer
    lookups: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])  # (provider, filter) -> [ids, rows]
    )

    def minimum(self) -> int:
        scans = sum(math.ceil((rows + 1) / self.page_size) for _, rows in self.scans)
        lookups = sum(
            math.ceil(max(ids, rows) / self.page_size) for ids, rows in self.lookups.values()
        )
        return scans + lookups

    def describe(self) -> list[str]:
        lines = [
            f"  scan {provider}: {rows} rows, minimum {math.ceil((rows + 1) / self.page_size)}"
            for provider, rows in self.scans
        ]
        for (provider, _), (ids, rows) in self.lookups.items():
            least = math.ceil(max(ids, rows) / self.page_size)
            lines.append(f"  by ids {provider}: {ids} ids, {rows} rows, minimum {least}")
        return lines


def instrument(calls: Calls) -> Callable[[], None]:
    """Wrap the client's scan and by_ids to count rows; returns the undo."""
    from ta_steget_cli.superoffice import SuperOfficeClient

    original_scan, original_by_ids = SuperOfficeClient.scan, SuperOfficeClient.by_ids

    def scan(self: Any, provider: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        rows = 0
        for row in original_scan(self, provider, **kwargs):
            rows += 1
            yield row
        calls.scans.append((provider, rows))

    def by_ids(self: Any, provider: str, ids: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        ids = list(ids)
        entry = calls.lookups[(provider, str(kwargs.get("filter")))]
        entry[0] += len(set(ids))
        for row in original_by_ids(self, provider, ids, **kwargs):
            entry[1] += 1
            yield row

    original_send = httpx.Client.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        response = original_send(self, request, **kwargs)
        calls.answers.append(time.perf_counter() - began)
        return response

    SuperOfficeClient.scan = scan  # type: ignore[method-assign]
    SuperOfficeClient.by_ids = by_ids  # type: ignore[method-assign]
    httpx.Client.send = send  # type: ignore[method-assign]

    def undo() -> None:
        SuperOfficeClient.scan = original_scan  # type: ignore[method-assign]
        SuperOfficeClient.by_ids = original_by_ids  # type: ignore[method-assign]
        httpx.Client.send = original_send  # type: ignore[method-assign]

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

[preferred_contact]
field = "{ids.PREFERRED_CONTACT_FIELD}"
[preferred_contact.values]
{table(ids.PREFERRED_CONTACT_VALUES)}

[first_response]
lookback_days = {LOOKBACK_DAYS}
ignore_registered_by = ["{ids.FORM_USER[0]}", "{ids.SYSTEM_USER[0]}"]
""",
        encoding="utf-8",
    )
    return path


def warm_up() -> float:
    """Import the CLI, run its --help and load the holiday tables before timing, so that the
    wall time is the command's own; the seconds it took are reported apart."""
    import contextlib
    import io

    began = time.perf_counter()
    from ta_steget_cli.cli import main
    from ta_steget_cli.workdays import Calendar

    Calendar().due_date(AS_OF, 5)
    # Typer imports most of itself on the first invocation: pay that here.
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        main(["overdue", "--help"])
    return time.perf_counter() - began


def run_overdue(config: Path, output: Path) -> float:
    """`tasteget overdue --all` in this process; the wall time in seconds."""
    from ta_steget_cli.cli import main

    argv = ["--config", str(config), "overdue", "--all", "--as-of", AS_OF.isoformat()]
    argv += ["--format", "json", "--output", str(output)]
    began = time.perf_counter()
    try:
        main(argv)
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise RuntimeError(f"tasteget exited with {exit_.code}") from None
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=5_000)
    parser.add_argument("--latency", type=float, default=0.010)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    from ta_steget_cli.sandbox import ids

    os.environ.update({"TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN})
    context = multiprocessing.get_context("spawn")  # the child shares no memory with us
    ours, theirs = context.Pipe()
    child = context.Process(
        target=serve, args=(theirs, args.persons, args.window, args.seed, args.latency)
    )
    child.start()
    try:
        api_url, built = ours.recv()
        print(f"sandbox: {args.persons} persons, {args.window} in the window, built in "
              f"{built:.1f} s, latency {args.latency * 1000:.0f} ms, at {api_url}")  # fmt: skip
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), api_url, args.page_size, args.rate)
            output = Path(tmp) / "overdue.json"

            startup = warm_up()
            calls = Calls(args.page_size)
            undo = instrument(calls)
            try:
                wall = run_overdue(config, output)
            finally:
                undo()
            ours.send("count")
            by_path: dict[str, int] = ours.recv()
            listed = len(json.loads(output.read_text(encoding="utf-8")))
            rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

            tracemalloc.start()
            run_overdue(config, output)
            peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            ours.send("count")
            ours.recv()
    finally:
        ours.send("stop")
        child.join(timeout=10)

    requests = sum(by_path.values())
    least = calls.minimum()
    ratio = requests / least
    paced = requests / args.rate
    print(f"listed: {listed} persons overdue")
    print(f"requests: {requests} made, minimum {least}, ratio {ratio:.2f} (target <= 1.2)")
    for path, count in sorted(by_path.items()):
        print(f"  {path}: {count}")
    print("\n".join(calls.describe()))
    print(f"wall: {wall:.2f} s; requests / rate = {paced:.2f} s; "
          f"ratio {wall / paced:.2f} (target <= 1.2)")  # fmt: skip
    interval = 1 / args.rate
    slow = [a for a in calls.answers if a > interval]
    floor = sum(max(interval, a) for a in calls.answers)
    print(f"answers: mean {1000 * sum(calls.answers) / len(calls.answers):.0f} ms, "
          f"max {1000 * max(calls.answers):.0f} ms; {len(slow)} of {len(calls.answers)} took "
          f"longer than the {1000 * interval:.0f} ms the rate allows")  # fmt: skip
    print(f"  a one-at-a-time client cannot beat sum(max(interval, answer)) = {floor:.2f} s; "
          f"the tool's own time on top: {wall - floor:.2f} s")  # fmt: skip
    print(f"startup (imports, holiday tables; not in wall): {startup:.2f} s")
    print(f"memory: tracemalloc peak {peak_mb:.1f} MB, max RSS {rss_mb:.1f} MB (target < 150)")
    ok = ratio <= 1.2 and wall <= 1.2 * paced and max(peak_mb, rss_mb) < 150
    print("result: " + ("all targets met" if ok else "TARGET MISSED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
