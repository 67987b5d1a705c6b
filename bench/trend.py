"""The report's trend over 50 earlier scans (issue 17 item 4): what reading the history costs.

Builds a results folder of 50 earlier scans of the lab inventory from the recorded lab scan
(tests/fixtures/lab: real facts and raw evidence), each with a later start and a few failing results
flipped to pass, plus the scan being reported. Measures, 3 repetitions each, median (min–max):
reading the history (scanner.history.read_history) against loading every file whole
(scanner.scanfile.load, what a naive reader would do), with the Python heap peak of each
(tracemalloc); and rendering the HTML report with and without the history. Offline, no network.
Figures go to bench/results.md between the bench-trend markers. Timings are measured here, never
asserted in tests.

    .venv/bin/python bench/trend.py [--scans 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reports.html import render_html  # noqa: E402
from scanner.history import read_history  # noqa: E402
from scanner.scanfile import ScanFile, load, save  # noqa: E402
from tests.labscan import recorded_lab_scan  # noqa: E402

BEGIN, END = "<!-- bench-trend:begin -->", "<!-- bench-trend:end -->"


def build_folder(folder: Path, n: int) -> tuple[Path, ScanFile]:
    base = recorded_lab_scan()
    raw = json.loads(ScanFile.__pydantic_serializer__.to_json(base))
    start = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    for i in range(n):
        copy = json.loads(json.dumps(raw))
        copy["started"] = (start + timedelta(days=3 * i)).isoformat()
        flipped = 0
        for host in copy["hosts"].values():  # a few gaps fixed in each older scan, so the series moves
            for r in host["results"]:
                if r["status"] == "fail" and flipped < (n - i) % 7:
                    r["status"], flipped = "pass", flipped + 1
        (folder / f"lab-{i:03d}.json").write_text(json.dumps(copy, indent=1), encoding="utf-8")
    current = base.model_copy(update={"started": start + timedelta(days=3 * n)})
    path = folder / "lab-current.json"
    save(current, path)
    return path, load(path)


def measure(fn: Callable[[], object], repeat: int) -> tuple[list[float], list[float]]:
    """Wall times of untraced runs, then the heap peaks of traced ones (tracing slows the code)."""
    times, peaks = [], []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    for _ in range(repeat):
        gc.collect()
        tracemalloc.start()
        fn()
        peaks.append(tracemalloc.get_traced_memory()[1] / 2 ** 20)
        tracemalloc.stop()
    return times, peaks


def fmt(values: list[float], unit: str) -> str:
    return f"{statistics.median(values):.2f} {unit} ({min(values):.2f}–{max(values):.2f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="readyscan-bench-trend-") as tmp:
        folder = Path(tmp)
        current_path, current = build_folder(folder, args.scans)
        size = sum(p.stat().st_size for p in folder.glob("lab-0*.json")) / 2 ** 20
        history = read_history(folder, current, exclude=current_path)
        assert len(history.records) == args.scans and not history.skipped
        rows = [
            ("read_history (what the report does)", *measure(lambda: read_history(folder, current, exclude=current_path), args.repeat)),
            ("scanfile.load of every file, kept (naive)",
             *measure(lambda: [load(p) for p in sorted(folder.glob("lab-0*.json"))], args.repeat)),
            ("render_html, no history", *measure(lambda: render_html(current), args.repeat)),
            ("render_html, with the history read", *measure(lambda: render_html(current, history=history), args.repeat)),
            ("read_history + render_html", *measure(lambda: render_html(current, history=read_history(
                folder, current, exclude=current_path)), args.repeat)),
        ]
        results = sum(len(h.results) for h in current.hosts.values()) + len(current.org_results)
    save_table(BEGIN, END, f"The report's trend over {args.scans} earlier scans (`bench/trend.py`)",
               f"{args.scans} earlier scan files of the lab inventory ({len(current.hosts)} hosts, {results} results "
               f"each, raw evidence kept: {size:.1f} MiB in all), built from the recorded lab scan", args.repeat, rows)
    return 0


def save_table(begin: str, end: str, title: str, setup: str, repeat: int,
               rows: list[tuple[str, list[float], list[float]]]) -> None:
    """One benchmark's figures as a titled table, printed and put in bench/results.md between its
    markers (at the end the first time)."""
    lines = [begin, f"## {title}", "",
             f"Written on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. {setup}; {repeat} repetitions, median (min–max). "
             "Wall time from untraced runs; peak is the Python heap during the step, from separate runs under "
             "tracemalloc.", "", "| step | wall time | heap peak |", "|---|---|---|"]
    lines += [f"| {name} | {fmt(t, 's')} | {fmt(p, 'MiB')} |" for name, t, p in rows]
    block = "\n".join([*lines, end])
    print(block)
    results_md = ROOT / "bench" / "results.md"
    text = results_md.read_text(encoding="utf-8")
    if begin in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    results_md.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
