"""The one harness behind `bench/bench.py`: a sandbox tenant in its own process, the tool in
another, and the figures the issues ask for.

- The sandbox runs as `tasteget sandbox serve` in a separate process, so the memory measured is
  the tool's alone and the sandbox's row building does not compete with the tool for the GIL.
- Each command runs as its own process too (`python bench/harness.py measure OUT -- ARGV`): that
  process wraps the client's `scan` and `by_ids` to count rows per archive question, counts
  every HTTP attempt the client makes (`RequestStats`, retries and logins included), times the
  command after its imports and writes the figures as JSON, with its own peak RSS.
- The minimum the page size allows, per archive question, where an answer holds at most
  `rows = min(page_size, the server's cap on $top)` rows (SuperOffice may cap $top and link the
  rest with odata.nextLink; the bench's sandbox caps it at 500 as its default realism does):
    a keyset scan of R rows needs ceil((R + 1) / rows) requests (a full last page must be
    followed by an empty one to know it was the last);
    an id-chunked lookup of I ids answering R rows needs max(ceil(I / page_size), ceil(R / rows))
    (a request carries at most page_size ids and answers at most `rows` rows). The chunks of one
    question (same provider, filter and kinds) are added up before the minimum is taken.
"""

from __future__ import annotations

import json
import math
import os
import resource
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------- counting (tool process)


@dataclass
class Calls:
    """Rows each scan and id lookup answered, and every HTTP attempt by kind."""

    page_size: int
    answer_rows: int  # the most rows one answer holds: page_size, or the server's cap
    scans: list[tuple[str, int]] = field(default_factory=list)  # (question, rows)
    lookups: dict[str, list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])  # question -> [ids, rows]
    )
    attempts: Counter[str] = field(default_factory=Counter)
    answers: list[float] = field(default_factory=list)  # seconds from send to whole answer

    def minimum(self) -> int:
        return sum(scan_minimum(rows, self.answer_rows) for _, rows in self.scans) + sum(
            self.lookup_minimum(ids, rows) for ids, rows in self.lookups.values()
        )

    def lookup_minimum(self, ids: int, rows: int) -> int:
        return max(math.ceil(ids / self.page_size), math.ceil(rows / self.answer_rows))

    def describe(self) -> list[str]:
        lines = [
            f"scan {what[:70]}: {rows} rows, minimum {scan_minimum(rows, self.answer_rows)}"
            for what, rows in self.scans
        ]
        lines += [
            f"by ids {what[:70]}: {ids} ids, {rows} rows, minimum {self.lookup_minimum(ids, rows)}"
            for what, (ids, rows) in self.lookups.items()
        ]
        return lines


def scan_minimum(rows: int, page_size: int) -> int:
    return math.ceil((rows + 1) / page_size)


def instrument(calls: Calls) -> None:
    """Wraps the client's scan and by_ids (rows per question) and RequestStats.count (every
    HTTP attempt); for this process only, which exits after the command."""
    from ta_steget_cli import superoffice

    client = superoffice.SuperOfficeClient
    original_scan, original_by_ids = client.scan, client.by_ids
    original_count = superoffice.RequestStats.count

    def scan(self: Any, provider: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        rows = 0
        for row in original_scan(self, provider, **kwargs):
            rows += 1
            yield row
        calls.scans.append((f"{provider} {kwargs.get('filter')}", rows))

    def by_ids(self: Any, provider: str, ids: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        ids = list(ids)
        entities = ",".join(kwargs.get("entities") or ())
        entry = calls.lookups[f"{provider} [{entities}] {kwargs.get('filter')}"]
        entry[0] += len(set(ids))
        for row in original_by_ids(self, provider, ids, **kwargs):
            entry[1] += 1
            yield row

    def count(self: Any, kind: str) -> None:
        calls.attempts[kind] += 1
        original_count(self, kind)

    import httpx

    original_send = httpx.Client.send

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return original_send(self, request, **kwargs)
        finally:
            calls.answers.append(time.perf_counter() - began)

    client.scan = scan  # type: ignore[method-assign]
    client.by_ids = by_ids  # type: ignore[method-assign]
    superoffice.RequestStats.count = count  # type: ignore[method-assign]
    httpx.Client.send = send  # type: ignore[method-assign]


def answer_rows(page_size: int, max_top: int | None) -> int:
    """The most rows one answer of the bench's sandbox holds: the page size, or the sandbox's
    cap on $top (`max_top` None: its default; 0: no cap)."""
    from ta_steget_cli.sandbox.realism import Realism

    cap = Realism().max_top if max_top is None else max_top
    return min(page_size, cap) if cap else page_size


def measure(out: Path, argv: list[str], page_size: int, answer_rows: int) -> None:
    """Runs `tasteget ARGV` in this process and writes its figures to `out` as JSON."""
    import contextlib
    import io
    import itertools

    from ta_steget_cli.cli import main
    from ta_steget_cli.workdays import Calendar

    # Imports, Typer's first-call setup and the holiday tables are paid before the clock starts.
    # The command's own help, not only the top one: Typer builds a command's parameters (and
    # imports their machinery, ~0.2 s) the first time that command is parsed.
    Calendar().due_date(date(2026, 1, 5), 5)
    command = argv[2:] if argv[:1] == ["--config"] else argv
    words = list(itertools.takewhile(lambda word: not word.startswith("-"), command))
    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
        main([*words, "--help"])
    calls = Calls(page_size, answer_rows)
    instrument(calls)
    began = time.perf_counter()
    code: object = 0
    try:
        main(argv)
    except SystemExit as exit_:
        code = exit_.code
    wall = time.perf_counter() - began
    figures = {
        "exit": code if isinstance(code, int) else 0,
        "requests": sum(calls.attempts.values()),
        "by_kind": dict(calls.attempts),
        "minimum": calls.minimum(),
        "questions": calls.describe(),
        "wall": wall,
        "answers": calls.answers,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    out.write_text(json.dumps(figures), encoding="utf-8")


# ---------------------------------------------------------------- the sandbox (own process)


@dataclass
class Sandbox:
    process: subprocess.Popen[str]
    api_url: str
    built_seconds: float

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sandbox(
    persons: int, latency: str, as_of: date, folder: Path, max_top: int | None = None
) -> Sandbox:
    """The sandbox tenant (bench/serve.py) in its own process; returns once it listens.
    `latency`: seconds per answer, or LEAST-MOST for a time drawn anew for every answer;
    `max_top`: the most rows per answer (0: no cap; None: the sandbox's default)."""
    serve = Path(__file__).with_name("serve.py")
    cmd = [
        sys.executable, str(serve), "--persons", str(persons), "--latency", latency,
        "--as-of", as_of.isoformat(),
        *(["--max-top", str(max_top)] if max_top is not None else []),
    ]  # fmt: skip
    began = time.perf_counter()
    process = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    api_url = ""
    for line in process.stderr:
        if " at http" in line:
            api_url = line.rsplit(" at ", 1)[1].strip()
        if "Ctrl-C" in line:
            return Sandbox(process, api_url, time.perf_counter() - began)
    raise SystemExit(f"the sandbox did not start (exit {process.wait()})")


def write_config(
    folder: Path, api_url: str, page_size: int, rate: float, workers: int | None = None
) -> Path:
    """The sandbox's own config (as `sandbox serve --write-config` writes it), with the bench's
    page size, rate and requests at once (None: the default), and purge files in the bench's
    folder."""
    from ta_steget_cli.cli.sandbox import sandbox_toml

    in_flight = "" if workers is None else f"max_in_flight = {workers}\n"
    text = sandbox_toml(api_url).replace(
        "[superoffice]\n",
        f"[superoffice]\npage_size = {page_size}\nrequests_per_second = {rate}\n{in_flight}",
    )
    # [purge] is the last table: the whole register may be a candidate in a made-up tenant.
    text += f'data_dir = "{folder / "data"}"\nmax_share = 1.0\n'
    path = folder / f"bench-{page_size}-{rate:g}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def sandbox_env() -> dict[str, str]:
    from ta_steget_cli.sandbox import ids

    return {**os.environ, "TASTEGET_TICKET": ids.TICKET, "TASTEGET_APP_TOKEN": ids.APP_TOKEN}


# ---------------------------------------------------------------- running a command


@dataclass
class Result:
    command: str
    persons: int
    requests: int
    minimum: int
    wall: float
    rate: float
    peak_rss_mb: float
    target_mb: float | None
    questions: list[str]
    by_kind: dict[str, int]
    answers: list[float] = field(default_factory=list)
    latency: str = "0.01"  # the sandbox's answer time: seconds, or LEAST-MOST
    wall_target: float | None = 1.2  # wall time against requests / rate (None: shown only)

    @property
    def floor(self) -> float:
        """What no one-request-at-a-time client can beat: each request takes the longer of
        the rate's interval and the server's answer time."""
        return sum(max(1 / self.rate, answer) for answer in self.answers)

    @property
    def ratio(self) -> float:
        return self.requests / self.minimum if self.minimum else float("nan")

    @property
    def paced(self) -> float:
        """requests / rate: the least wall time the rate limit allows."""
        return self.requests / self.rate

    @property
    def wall_ratio(self) -> float:
        return self.wall / self.paced if self.requests else float("nan")

    @property
    def ok(self) -> bool:
        memory_ok = self.target_mb is None or self.peak_rss_mb < self.target_mb
        wall_ok = self.wall_target is None or self.wall_ratio <= self.wall_target
        return self.ratio <= 1.2 and wall_ok and memory_ok


def run_measured(
    argv: list[str],
    page_size: int,
    answer_rows: int,
    folder: Path,
    tool_src: Path | None = None,
) -> dict[str, Any]:
    """`tasteget ARGV` in its own process, measured by `measure`; its figures. `tool_src`: the
    tool's code from another checkout's src/ (a measurement of an earlier commit against the
    same sandbox)."""
    out = folder / "figures.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable, __file__, "measure", str(out), str(page_size), str(answer_rows), "--",
        *argv,
    ]  # fmt: skip
    env = sandbox_env()
    if tool_src is not None:
        env["PYTHONPATH"] = str(tool_src)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.exists():
        raise SystemExit(f"tasteget {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if figures["exit"] != 0:
        raise SystemExit(f"tasteget {' '.join(argv)} exited {figures['exit']}:\n{done.stderr}")
    return figures


# ---------------------------------------------------------------- the table


HEADER = (
    "| latency | command | persons | requests | minimum | ratio | wall s | requests/rate s "
    "| wall ratio | peak MB | target |"
)
RULE = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"


def latency_label(latency: str) -> str:
    least, _, most = latency.partition("-")
    shown = f"{float(least) * 1000:g}"
    return f"{shown}–{float(most) * 1000:g} ms" if most else f"{shown} ms"


def row(result: Result) -> str:
    targets = ["ratio ≤ 1.2"]
    if result.wall_target is not None:
        targets.append(f"wall ratio ≤ {result.wall_target:g}")
    if result.target_mb:
        targets.append(f"< {result.target_mb:g} MB")
    mark = "ok" if result.ok else "**missed**"
    return (
        f"| {latency_label(result.latency)} | {result.command} | {result.persons:,} "
        f"| {result.requests} | {result.minimum} "
        f"| {result.ratio:.2f} | {result.wall:.1f} | {result.paced:.1f} "
        f"| {result.wall_ratio:.2f} | {result.peak_rss_mb:.0f} | {', '.join(targets)}: {mark} |"
    )


if __name__ == "__main__" and len(sys.argv) > 5 and sys.argv[1] == "measure":
    # python harness.py measure OUT PAGE_SIZE ANSWER_ROWS -- ARGV...
    measure(Path(sys.argv[2]), sys.argv[6:], int(sys.argv[3]), int(sys.argv[4]))
