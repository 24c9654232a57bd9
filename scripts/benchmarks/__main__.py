"""warroom benchmarks: every figure is a ratio to a floor measured in the same run on the same machine.

Run through `scripts/bench` (`--quick` for the reduced version). Results go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import console_scale, figures, hunting, journal, scale, startup
from benchmarks.common import Result, machine_summary

FIGURES: dict[int, Callable[[figures.Config], Result | list[Result]]] = {
    1: journal.append_rate,
    2: journal.verify_time,
    3: figures.console_start,
    4: figures.keypress_latency,
    5: figures.inventory_pull,
    6: figures.evidence_intake,
    7: figures.idle_cpu,
    8: startup.startup,
    9: hunting.hunting,
    10: scale.scale_pull,
    11: console_scale.scale_console,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="reduced sizes, the whole run in under two minutes")
    parser.add_argument("--only", help="comma-separated figure numbers")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument(
        "--hunt-mb", type=int, help="size of the generated Event Log Files for figure 9 (default 50, full run 2000)"
    )
    parser.add_argument(
        "--journal-entries",
        type=int,
        help="size of the journal for figures 1 to 4 (default 20,000 with --quick, 1,000,000 without)",
    )
    parser.add_argument("--work", type=Path, help="scratch directory (default: a temporary one)")
    args = parser.parse_args(argv)
    wanted = sorted(int(x) for x in args.only.split(",")) if args.only else sorted(FIGURES)
    config = figures.Config.make(quick=args.quick, work=args.work, hunt_mb=args.hunt_mb)
    if args.journal_entries:
        config.journal_entries = args.journal_entries
    results: list[Result] = []
    started = time.perf_counter()
    try:
        for number in wanted:
            print(f"figure {number}: {FIGURES[number].__doc__.splitlines()[0]}", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                produced = FIGURES[number](config)
            except Exception as exc:  # one broken figure must not lose the others' numbers
                produced = Result(
                    number,
                    FIGURES[number].__doc__.splitlines()[0],
                    "-",
                    "failed",
                    "-",
                    None,
                    "-",
                    False,
                    notes=[f"the run failed: {type(exc).__name__}: {exc}"],
                )
            for result in produced if isinstance(produced, list) else [produced]:
                result.seconds = time.perf_counter() - t0
                results.append(result)
                print("  " + result.line(), file=sys.stderr, flush=True)
    finally:
        config.cleanup()
    total = time.perf_counter() - started
    text = render(results, quick=args.quick, total=total)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.quick and args.out == Path("docs/benchmarks.md"):
        args.out = Path("docs/benchmarks-quick.md")
    args.out.write_text(text)
    print(f"wrote {args.out} ({total:.0f} s)", file=sys.stderr)
    return 0


def render(results: list[Result], *, quick: bool, total: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Run: `scripts/bench{' --quick' if quick else ''}` on {time.strftime('%Y-%m-%d')} "
        f"({total:.0f} s in all). Python {platform.python_version()}.",
        "",
        "Machine: " + machine_summary(),
        "",
        "Each figure is measured against its floor in the same run; the ratio is what the goal constrains.",
        "",
        "| # | figure | size | warroom | floor | ratio | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.number} | {r.title} | {r.size} | {r.value} | {r.floor} | {r.ratio_text} | {r.goal} | "
            f"{r.verdict or ('yes' if r.met else '**no**')} |"
        )
    lines.append("")
    for r in results:
        if r.notes:
            lines += [f"**{r.number}. {r.title}.** " + " ".join(r.notes), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
