"""Measure the child-level data import for a large area: read + map + validate, store, write the return, summarise.

Generates fictional Demo County lists once (not timed) into a temporary folder, then runs the measured
part `--runs` times, each in a fresh child process started by this small parent (which never imports
pandas, so the child's peak resident set is the work's alone: os.wait4 gives that child's ru_maxrss),
and prints the timings and peak RSS as JSON.

    .venv/bin/python bench/child_data_import.py [--children 100000] [--format csv|xlsx|ods] [--runs 3]

`--children` counts the children across the EHC plan list and the SEN support list; the providers list
the generator writes beside them is imported too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import machine  # noqa: E402

NOTIFIED_ON = date(2026, 11, 23)
CONFIG = ROOT / "config" / "demo-county"
STAGES = ("import_lists", "store_lists", "write_return", "summarise")


def measure(folder: Path, fmt: str) -> dict[str, object]:
    """Run the measured stages once in this process; return seconds per stage and the peak RSS after each."""
    started = time.perf_counter()
    from send_inspection.childdata.columns import load_child_data_config
    from send_inspection.childdata.importer import import_lists
    from send_inspection.childdata.returns import summarise, write_return
    from send_inspection.childdata.store import store_lists
    from send_inspection.childdata.synthetic import FILE_NAMES

    config = load_child_data_config(CONFIG)
    files = {kind: folder / "lists" / f"{name}.{fmt}" for kind, name in FILE_NAMES.items()}
    seconds: dict[str, float] = {"startup_imports": time.perf_counter() - started}
    rss: dict[str, int] = {"startup_imports": _peak_self()}
    steps = {
        "import_lists": lambda: import_lists(files, config=config, notified_on=NOTIFIED_ON),
        "store_lists": lambda: store_lists(data, folder / "stored"),
        "write_return": lambda: write_return(data, folder / "return.xlsx"),
        "summarise": lambda: summarise(data),
    }
    for stage, step in steps.items():
        started = time.perf_counter()
        result = step()
        seconds[stage] = time.perf_counter() - started
        rss[stage] = _peak_self()
        if stage == "import_lists":
            data = result
    rows = {kind: len(imported.rows) for kind, imported in data.lists.items() if imported.rows is not None}
    return {"seconds": seconds, "peak_rss_mib_after": rss, "rows": rows, "problems": len(data.problems)}


def _peak_self() -> int:
    """Return this process's peak resident set so far, in MiB (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run_child(args: list[str], folder: Path) -> tuple[str, float]:
    """Run this script with `args` in a child process; return its output and its peak resident set in MiB."""
    out = folder / "child.out"
    with out.open("w") as handle:
        child = subprocess.Popen([sys.executable, __file__, *args], stdout=handle)
        _, status, usage = os.wait4(child.pid, 0)  # that child's own rusage, not every child's
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({child.returncode})")
    return out.read_text(), usage.ru_maxrss / 1024


def generate(folder: Path, children: int, fmt: str) -> None:
    """Write the fictional lists to folder/lists."""
    from send_inspection.childdata.columns import load_child_data_config
    from send_inspection.childdata.synthetic import generate as write_lists

    write_lists(folder / "lists", children=children, seed=1, as_of=NOTIFIED_ON,
                config=load_child_data_config(CONFIG), fmt=fmt)


def main() -> int:
    """Generate the lists, run the measured part in child processes and print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=100_000, help="children across both lists (default 100000)")
    parser.add_argument("--format", choices=("csv", "xlsx", "ods"), default="csv", help="the lists' file format")
    parser.add_argument("--runs", type=int, default=3, help="measured runs, each in a fresh process (default 3)")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child process: measure once, print JSON
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)  # child process: write the lists
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.format)))
        return 0
    if args.generate:
        generate(args.generate, args.children, args.format)
        return 0
    with tempfile.TemporaryDirectory(prefix="child-data-import-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        run_child(["--generate", str(folder), "--children", str(args.children), "--format", args.format], folder)
        generated_s = time.perf_counter() - started
        runs, peaks = [], []
        for _ in range(args.runs):
            output, peak = run_child(["--measure", str(folder), "--format", args.format], folder)
            runs.append(json.loads(output))
            peaks.append(peak)
        sizes = {p.name: p.stat().st_size for p in sorted((folder / "lists").iterdir())}
    totals = [sum(run["seconds"][s] for s in STAGES) for run in runs]
    best = min(range(len(runs)), key=lambda i: totals[i])
    result = {
        "children": args.children,
        "format": args.format,
        "rows": runs[0]["rows"],
        "file_bytes": sizes,
        "generated_s": round(generated_s, 2),
        "runs": len(runs),
        "seconds_median": {s: round(statistics.median(r["seconds"][s] for r in runs), 3)
                           for s in ("startup_imports", *STAGES)},
        "total_s": {"median": round(statistics.median(totals), 3), "min": round(min(totals), 3),
                    "max": round(max(totals), 3)},
        "peak_rss_mib": {"max": round(max(peaks)), "median": round(statistics.median(peaks))},
        "peak_rss_mib_after_stage_fastest_run": runs[best]["peak_rss_mib_after"],
        "machine": machine("pandas", "numpy", "python-calamine", "openpyxl", "odfpy"),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
