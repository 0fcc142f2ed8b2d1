"""The benchmark's sandbox tenant in a process of its own: `tasteget sandbox serve` with an answer
time that may vary from answer to answer, as SuperOffice Online's does.

    python bench/serve.py --persons N --latency 0.3 [--as-of 2026-03-18]
    python bench/serve.py --persons N --latency 0.1-0.9     # each answer 100 to 900 ms
    python bench/serve.py --persons N --max-top 0           # no cap on $top (default: 500)

Prints `... at API_URL` and `Ctrl-C stops it.` on stderr once it listens (what harness.py waits
for), then serves on 127.0.0.1 until it is stopped.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date


def spread(text: str) -> tuple[float, float]:
    """`0.3` (every answer 300 ms) or `0.1-0.9` (each answer drawn from 100 to 900 ms)."""
    least, _, most = text.partition("-")
    low = float(least)
    high = float(most) if most else low
    if not 0 <= low <= high:
        raise argparse.ArgumentTypeError(f"expected SECONDS or LEAST-MOST, found {text!r}")
    return low, high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, required=True)
    parser.add_argument("--latency", type=spread, default=(0.0, 0.0))
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 3, 18))
    parser.add_argument("--max-top", type=int, default=None, help="rows per answer; 0: no cap")
    options = parser.parse_args()

    from ta_steget_cli.cli.runtime import SANDBOX_SEED
    from ta_steget_cli.sandbox import SandboxTenant, serve_forever

    least, most = options.latency
    tenant = SandboxTenant(
        persons=options.persons, seed=SANDBOX_SEED, today=options.as_of, latency=least
    )
    if most > least:
        tenant.latency_spread = (least, most)
    if options.max_top is not None:
        tenant.realism.max_top = options.max_top or None

    def announce(base_url: str, api_url: str) -> None:
        print(f"Sandbox tenant at {api_url}", file=sys.stderr)
        print("Ctrl-C stops it.", file=sys.stderr, flush=True)

    serve_forever(tenant, "127.0.0.1", 0, announce)


if __name__ == "__main__":
    main()
