"""`make lossy`: the per-seed outcomes tests/device/test_lossy_links.py appended to $MPSSL_LOSSY_REPORT (one JSON
line per seed and direction), summed up per direction as a Markdown table: completed, timed out, other, and
what the impairment proxy did over all of that direction's seeds."""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

OUTCOMES = ("completed", "timeout", "other")
ACTIONS = ("received", "dropped", "duplicated", "reordered", "held_alone", "delayed")


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def table(records: list[dict[str, Any]]) -> str:
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    seeds: dict[str, set[int]] = defaultdict(set)
    proxy: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        direction = r["direction"]
        outcome = r["outcome"] if r["outcome"] in OUTCOMES else "other"
        outcomes[direction][outcome] += 1
        seeds[direction].add(r["seed"])
        for way, counts in r.get("proxy", {}).items():
            for action in ACTIONS:
                proxy[direction][f"{way} {action}"] += counts.get(action, 0)
    rows = ["| direction | seeds | completed | timed out | other | datagrams to server / to client: "
            "received, dropped, duplicated, reordered (+ held alone), delayed |",
            "| --- | --- | --- | --- | --- | --- |"]
    for direction in sorted(outcomes):
        c, p = outcomes[direction], proxy[direction]
        ways = " / ".join(
            f"{p[f'{w} received']}, {p[f'{w} dropped']}, {p[f'{w} duplicated']}, "
            f"{p[f'{w} reordered']} (+{p[f'{w} held_alone']}), {p[f'{w} delayed']}" for w in ("to_server", "to_client"))
        rows.append(f"| {direction} | {len(seeds[direction])} | {c['completed']} | {c['timeout']} | {c['other']} "
                    f"| {ways} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the JSON lines file the tests wrote ($MPSSL_LOSSY_REPORT)")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        print(f"no per-seed results in {args.report}: did the tests run?")
        return 1
    print(table(load(args.report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
