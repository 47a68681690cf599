#!/usr/bin/env python3
"""The sync table of scripts/bench.sh (issue 19).

A standalone sandbox starts holding M customers (`--customers`); the file
has those M, of which K differ in one field, plus N new ones. The same
file is imported with `--mode upsert` and with `--mode overwrite`, each
against a fresh sandbox holding the same customers, and the table shows
the requests each used (from the sandbox's own counters, by kind) and the
wall time.

Upsert runs at `--rate 10` (the default rate). Overwrite sends one request
per row: at `--rate 10` that is M + N requests / 10 per second (17 minutes
for 10 200 rows), so by default it runs at `--overwrite-rate` (200/s) and
the table gives both its measured time and the time its requests take at
10/s (requests / 10), saying which is which. `--overwrite-rate 10`
measures it at 10/s outright.

Usage: bench_sync.py --bin BIN --work DIR [--held M --differ K --new N]
                     [--rate 10] [--overwrite-rate 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import Budget, BenchError, Sandbox, checked, env_with_key, run  # noqa: E402

HEADER = "CustomerCode,Name,Address,Postalcode,City,Country,Phone,Email,Language"


def customer(i: int, city: str) -> str:
    return (
        f"S{i:06},Klant {i} B.V.,Straat {i},1234 AB,{city},NL,"
        f"0301{i:06},klant{i}@example.nl,dutch"
    )


def write_inputs(work: Path, held: int, differ: int, new: int) -> tuple[Path, Path]:
    """Notify's customers now, and the file: the same customers, every
    (held/differ)-th one moved to another city, then `new` new ones."""
    step = max(1, held // max(differ, 1))
    now = work / "sync-held.csv"
    file = work / "sync-file.csv"
    with now.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(1, held + 1):
            f.write(customer(i, "Utrecht") + "\n")
    changed = 0
    with file.open("w", encoding="utf-8") as f:
        f.write(HEADER + "\n")
        for i in range(1, held + 1):
            moved = changed < differ and i % step == 0
            changed += moved
            f.write(customer(i, "Amersfoort" if moved else "Utrecht") + "\n")
        for i in range(held + 1, held + new + 1):
            f.write(customer(i, "Utrecht") + "\n")
    return now, file


def measure(a: argparse.Namespace, budget: Budget, mode: str, rate: float,
            held: Path, file: Path) -> dict:
    with Sandbox(a.bin, ["--customers", str(held)], budget) as sb:
        cmd = [
            a.bin, "import", str(file), "--api-url", sb.url, "--mode", mode,
            "--rate", str(rate), "--quiet", "--restart", "--runs-dir", str(a.work / f"runs-{mode}"),
        ]
        r = checked(run(cmd, budget, cap=3600, env=env_with_key()), f"import --mode {mode}")
        st = sb.stats()
    by = st.get("requests_by_method", {})
    return {
        "mode": mode,
        "rate": rate,
        "requests": st["requests"],
        "list_pages": st.get("lists", 0),
        "searches": st.get("searches", 0),
        "posts": by.get("POST", 0),
        "patches": by.get("PATCH", 0),
        "creates": st.get("creates", 0),
        "updates": st.get("updates", 0),
        "overwrites": st.get("overwrites", 0),
        "wall_s": r.wall,
    }


def table(rows: list[dict], held: int, differ: int, new: int, budget_req: int) -> str:
    lines = [
        f"Sync: {held} customers in Notify, {differ} of them changed in the file, plus {new} new rows",
        "",
        "| --mode | --rate | requests | list pages | searches | POST | PATCH | wall time | at --rate 10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        at10 = r["requests"] / 10.0
        measured_at_10 = abs(r["rate"] - 10.0) < 1e-9
        lines.append(
            f"| {r['mode']} | {r['rate']:g} | {r['requests']} | {r['list_pages']} | {r['searches']} "
            f"| {r['posts']} | {r['patches']} | {r['wall_s']:.1f} s | "
            + (f"{r['wall_s']:.1f} s (measured)" if measured_at_10 else f"{at10:.0f} s (requests / 10)")
            + " |"
        )
    up = next((r for r in rows if r["mode"] == "upsert"), None)
    over = next((r for r in rows if r["mode"] == "overwrite"), None)
    if up and over and up["requests"]:
        lines.append("")
        lines.append(
            f"upsert used {up['requests']} requests (goal: at most {budget_req}), "
            f"overwrite {over['requests']}: {over['requests'] / up['requests']:.0f}x fewer"
        )
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin", required=True)
    p.add_argument("--work", required=True, type=Path)
    p.add_argument("--held", type=int, default=10_000)
    p.add_argument("--differ", type=int, default=100)
    p.add_argument("--new", type=int, default=100)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--overwrite-rate", type=float, default=200.0)
    p.add_argument("--budget", type=float, default=1800)
    p.add_argument("--json", type=Path)
    p.add_argument("--check", action="store_true", help="exit 1 if upsert misses its request goal")
    a = p.parse_args()
    budget = Budget(a.budget)
    held, file = write_inputs(a.work, a.held, a.differ, a.new)
    # The goal of issue 19: ceil(M/250) list pages + the writes + 5.
    goal = math.ceil(a.held / 250) + a.differ + a.new + 5
    try:
        rows = [
            measure(a, budget, "upsert", a.rate, held, file),
            measure(a, budget, "overwrite", a.overwrite_rate, held, file),
        ]
    except BenchError as e:
        print(f"bench_sync: {e}", file=sys.stderr)
        return 2
    print(table(rows, a.held, a.differ, a.new, goal))
    if a.json:
        a.json.write_text(json.dumps({"sync": rows, "goal_requests": goal}, indent=2) + "\n")
    up = rows[0]
    ok = up["requests"] <= goal and up["posts"] == a.new and up["patches"] == a.differ
    if not ok:
        print(f"bench_sync: upsert missed its goal: {up}", file=sys.stderr)
    return 1 if (a.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
