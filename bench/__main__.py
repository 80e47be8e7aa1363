"""`python -m bench [--quick] [--only S1,S2] [--plot]`: run the scenarios, print a table and
write bench/results/latest.json."""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path
from typing import Any

from bench import machine, wrk
from bench.dataset import SCALES
from bench.scenarios import Result, Scenario, Settings

RESULTS = Path(__file__).resolve().parent / "results"
CHARTS = Path(__file__).resolve().parent.parent / "docs" / "bench"  # shown by the README
WORK = Path(__file__).resolve().parent / "work"
# Scenario name -> "module:function" under bench.scenarios (one function may report several
# results, e.g. S1 also reports S1b).
SCENARIOS: dict[str, str] = {
    "S1": "inbox:run",
    "S1c": "inbox:run_burst",
    "S2": "documents:run",
    "S3": "timelines:run",
    "S4": "search:run",
    "S5": "delivery:run",
    "S5b": "delivery:run_bad",
    "S6": "posting:run_posting",
    "S7": "steady:run",
    "S8": "inbox:run_overload",
    "L1": "load:run",
    "E2E": "posting:run_e2e",
    "D1": "directory:run",
}


def scenario(name: str) -> Scenario:
    module, function = SCENARIOS[name].split(":")
    return getattr(importlib.import_module(f"bench.scenarios.{module}"), function)  # type: ignore[no-any-return]


def _table(results: list[Result]) -> str:
    rows = [
        (
            "scenario",
            "ratio (min-max)",
            "figure/s",
            "ceiling/s",
            "p50 ms",
            "p99 ms",
            "err",
            "goal met",
        )
    ]
    for result in results:
        data = result.as_dict()
        spread = data["ratio_rounds"]
        ratio = f"{data['ratio']:.2f} ({spread['min']:.2f}-{spread['max']:.2f})" if spread else "-"
        rows.append(
            (
                result.scenario,
                ratio,
                f"{data['figure_rps']['median']:.0f}",
                f"{data['ceiling_rps']['median']:.0f}",
                f"{data['p50_ms']['median']:.2f}",
                f"{data['p99_ms']['median']:.2f}",
                str(data["errors"]),
                {True: "yes", False: "NO", None: "-"}[result.met],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="every scenario at small scale")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=None, help="per round and server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--plot", action="store_true", help="write PNG charts")
    parser.add_argument(
        "--scale", choices=sorted(SCALES), help="dataset scale (default: quick or full)"
    )
    args = parser.parse_args(argv)
    wrk.ensure_wrk()
    settings = Settings(
        quick=args.quick,
        rounds=args.rounds,
        seconds=args.seconds or (3.0 if args.quick else 10.0),
        connections=args.connections,
        work=WORK,
        scale=args.scale or "",
    )
    wanted = [name.strip() for name in args.only.split(",") if name.strip()] or list(SCENARIOS)
    started = time.time()
    results: list[Result] = []
    for name in wanted:
        results.extend(scenario(name)(settings))
    report: dict[str, Any] = {
        "scale": settings.label,
        "rounds": settings.rounds,
        "seconds_per_round": settings.seconds,
        "connections": settings.connections,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "machine": machine.describe(),
        "scenarios": {result.scenario: result.as_dict() for result in results},
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    print(_table(results))
    if args.plot:
        from bench.plot import plot

        for path in plot(report, CHARTS):
            print(f"chart {path}")
    print(f"\nwritten {RESULTS / 'latest.json'} ({report['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
