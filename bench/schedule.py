"""The scheduler benchmark: our epoch scheduler beside the two FIFO baselines (issue 4).

    .venv/bin/python -m bench.schedule            # everything, about a minute
    .venv/bin/python -m bench.schedule --quick    # no 100k timing, fewer seeds

Prints the headline (a day of 2,400 jobs over 12 Zipf groups on 8 GPUs x 4 slots, 15-min
window) against the issue's targets, a density sweep, a seed sweep, a window sweep and the
100k-job planning time against Python's sort. Every plan is checked by the independent checker.
Writes bench/out/results.json, bench/out/timeline.png, bench/out/timeline-6h.png and
bench/out/saving-vs-density.png (bench/out/ is git-ignored).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

from b00t_pulumi.epoch import (
    GroupSettings,
    Job,
    Plan,
    check_plan,
    evaluate,
    fifo_cold,
    fifo_warm,
    schedule,
    uniform_inventory,
)
from bench.tracegen import TraceSpec, generate, group_names

GPUS = 8
SLOTS = 4
WINDOW = 900.0
DENSITIES = (0.5, 1.0, 2.0, 4.0, 8.0)
HEADLINE = TraceSpec(seed=1, jobs=2400)


def run_all(
    jobs: Sequence[Job],
    *,
    window: float = WINDOW,
    daily_limit: Decimal | None = None,
) -> dict[str, Any]:
    """Ours, FIFO-warm and FIFO-cold on one trace: plans (checked) and metrics."""
    gpus = uniform_inventory(GPUS, SLOTS)
    default = GroupSettings(batch_window_s=window)
    t = time.perf_counter()
    ours = schedule(jobs, gpus, default=default, daily_limit=daily_limit)
    seconds = time.perf_counter() - t
    warm = fifo_warm(jobs, gpus, default=default)
    cold = fifo_cold(jobs, gpus, default=default)
    for name, plan, exclusive in (("ours", ours, True), ("warm", warm, True), ("cold", cold, False)):
        limit = daily_limit if name == "ours" else None
        problems = check_plan(plan, jobs, gpus, default=default, exclusive=exclusive, daily_limit=limit)
        if problems:
            raise SystemExit(f"{name}: the plan fails the checker: {problems[:5]}")
    out: dict[str, Any] = {"plans": {"ours": ours, "warm": warm, "cold": cold}}
    for name, plan in out["plans"].items():
        m = evaluate(
            plan, jobs, gpus, fifo_load_gpu_seconds=cold.load_gpu_seconds, default=default,
            daily_limit=daily_limit, plan_seconds=seconds if name == "ours" else 0.0,
        )
        out[name] = m.to_dict()
    return out


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(c: object) -> str:
    if isinstance(c, float):
        return f"{c:.3f}" if abs(c) < 10 else f"{c:.0f}"
    return str(c)


def headline(out_dir: Path, plots: bool) -> dict[str, Any]:
    jobs = generate(HEADLINE)
    r = run_all(jobs)
    o, w, c = r["ours"], r["warm"], r["cold"]
    print(f"== Headline: {len(jobs)} jobs, {len({j.group for j in jobs})} groups (Zipf), "
          f"{GPUS} GPUs x {SLOTS} slots, window 15 min, seed {HEADLINE.seed}")
    print("   models: " + ", ".join(f"{n} ({s:g} s)" for n, s in group_names(HEADLINE)))
    keys = ["loads", "load_gpu_seconds", "saving_vs_fifo", "p95_added_wait_s", "mean_added_wait_s",
            "max_added_wait_s", "makespan_s", "placed", "deferred"]
    print(table([[k, o[k], w[k], c[k]] for k in keys], ["metric", "ours", "fifo-warm", "fifo-cold"]))
    print(f"   lower bound on loads: simple (FACTS s.10, per slot) {o['lower_bound_loads']}, "
          f"windowed {o['windowed_lower_bound_loads']} (valid: max wait {o['max_added_wait_s']:.0f} s <= 900 s)")
    print(f"   makespan {o['makespan_s']:.0f} s, lower bound {o['makespan_lower_bound_s']:.0f} s")
    # Budget: a daily limit of 80 % of what the day's jobs cost.
    total = sum((j.cost or Decimal(0) for j in jobs), Decimal(0))
    limit = (total * Decimal("0.8")).quantize(Decimal("0.01"))
    b = run_all(jobs, daily_limit=limit)
    ob, cb = b["ours"], b["cold"]
    wb = b["warm"]
    print(f"   with a daily limit of {limit} (80 % of the day's {total:.2f}): ours defers {ob['deferred']} jobs "
          f"with a reason, {ob['budget_overruns']} overruns; fifo-warm {wb['budget_overruns']} overruns, "
          f"fifo-cold {cb['budget_overruns']} overruns")
    ratio = o["loads"] / w["loads"]
    targets = [
        ("load GPU-seconds >= 90 % below one-load-per-job FIFO", f"{100 * o['saving_vs_fifo']:.1f} %",
         o["saving_vs_fifo"] >= 0.90),
        ("loads <= half of FIFO-warm", f"{o['loads']}/{w['loads']} = {ratio:.2f}", ratio <= 0.5),
        ("p95 added wait <= 900 s", f"{o['p95_added_wait_s']:.0f} s", o["p95_added_wait_s"] <= 900),
        ("every job placed or deferred with a reason", f"{o['placed']} placed + {o['deferred']} deferred",
         o["placed"] + o["deferred"] == len(jobs)),
        ("zero budget overruns (limit = 80 % of demand)", f"{ob['budget_overruns']}", ob["budget_overruns"] == 0),
    ]
    print(table([[n, v, "PASS" if ok else "FAIL"] for n, v, ok in targets], ["target", "measured", ""]))
    if plots:
        from bench.plots import timeline

        ours: Plan = r["plans"]["ours"]
        timeline(ours, out_dir / "timeline.png", title=f"Epoch plan, one day: {o['loads']} loads "
                 f"({w['loads']} for FIFO-warm, {c['loads']} for FIFO-cold)")
        timeline(ours, out_dir / "timeline-6h.png", start_s=0, end_s=6 * 3600,
                 title="Epoch plan, first 6 hours (black = model load)")
        warm_plan: Plan = r["plans"]["warm"]
        timeline(warm_plan, out_dir / "timeline-6h-fifo-warm.png", start_s=0, end_s=6 * 3600,
                 title="FIFO keeping the last model warm, first 6 hours (black = model load)")
    return {
        "ours": o, "warm": w, "cold": c, "budget": {"limit": str(limit), "ours": ob, "warm": wb, "cold": cb},
        "targets": [{"target": n, "measured": v, "pass": ok} for n, v, ok in targets],
    }


def densities(out_dir: Path, plots: bool) -> list[dict[str, Any]]:
    print("\n== Density sweep (seed 1, one day, 12 groups, 8 GPUs x 4 slots, window 15 min)")
    rows = []
    for d in DENSITIES:
        jobs = generate(TraceSpec(seed=1, density=d))
        r = run_all(jobs)
        rows.append({"density": d, "ours": r["ours"], "warm": r["warm"], "cold": r["cold"]})
    print(table(
        [[r["density"], r["ours"]["jobs"], r["ours"]["loads"], r["warm"]["loads"], r["cold"]["loads"],
          r["ours"]["lower_bound_loads"], r["ours"]["windowed_lower_bound_loads"],
          r["ours"]["loads"] / r["warm"]["loads"], r["ours"]["saving_vs_fifo"], r["warm"]["saving_vs_fifo"],
          r["ours"]["p95_added_wait_s"], r["warm"]["p95_added_wait_s"], r["cold"]["p95_added_wait_s"],
          r["ours"]["plan_seconds"]] for r in rows],
        ["jobs/grp/win", "jobs", "loads", "warm", "cold", "lb", "lb-win", "ours/warm", "saving",
         "warm-saving", "p95", "warm-p95", "cold-p95", "plan-s"],
    ))
    if plots:
        from bench.plots import saving_vs_density

        saving_vs_density(rows, out_dir / "saving-vs-density.png")
    return rows


def seeds(n: int) -> dict[str, Any]:
    print(f"\n== Headline over seeds 1..{n} (the model sizes and arrivals change with the seed)")
    rows = []
    for s in range(1, n + 1):
        r = run_all(generate(TraceSpec(seed=s, jobs=2400)))
        o = r["ours"]
        rows.append([s, o["loads"], r["warm"]["loads"], o["loads"] / r["warm"]["loads"], o["saving_vs_fifo"],
                     o["p95_added_wait_s"], o["windowed_lower_bound_loads"]])
    print(table(rows, ["seed", "loads", "warm", "ours/warm", "saving", "p95", "lb-win"]))
    summary = {
        "ratio": [min(r[3] for r in rows), statistics.median(r[3] for r in rows), max(r[3] for r in rows)],
        "saving": [min(r[4] for r in rows), statistics.median(r[4] for r in rows), max(r[4] for r in rows)],
        "p95": [min(r[5] for r in rows), statistics.median(r[5] for r in rows), max(r[5] for r in rows)],
    }
    spread = "; ".join(f"{k} {v[0]:.3f} / {v[1]:.3f} / {v[2]:.3f}" for k, v in summary.items())
    print(f"   min / median / max: {spread}")
    return summary


def windows() -> list[dict[str, Any]]:
    print("\n== Window sweep on the headline trace (the batch window is the user's wait-for-batching knob)")
    jobs = generate(HEADLINE)
    rows = []
    for minutes in (2, 5, 10, 15, 30, 60):
        r = run_all(jobs, window=minutes * 60.0)
        rows.append({"window_min": minutes, "ours": r["ours"], "warm_loads": r["warm"]["loads"]})
    print(table(
        [[r["window_min"], r["ours"]["loads"], r["warm_loads"], r["ours"]["loads"] / r["warm_loads"],
          r["ours"]["saving_vs_fifo"], r["ours"]["p95_added_wait_s"], r["ours"]["mean_added_wait_s"]] for r in rows],
        ["window-min", "loads", "warm", "ours/warm", "saving", "p95", "mean-wait"],
    ))
    return rows


def _best(fn: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def speed(n_jobs: int = 100_000) -> dict[str, Any]:
    print(f"\n== Planning {n_jobs:,} jobs vs Python sorting them (best of 5; jobs shuffled first)")
    jobs = generate(TraceSpec(seed=7, jobs=n_jobs, days=n_jobs / 2400))
    random.Random(0).shuffle(jobs)
    gpus = uniform_inventory(GPUS, SLOTS)
    sort_s = _best(lambda: sorted(jobs, key=attrgetter("submit_s")), 5)
    sort_id_s = _best(lambda: sorted(jobs, key=lambda j: (j.submit_s, j.id)), 5)
    plan_s = _best(lambda: schedule(jobs, gpus), 5)
    plan = schedule(jobs, gpus)
    assert check_plan(plan, jobs, gpus) == []
    ratio = plan_s / sort_s
    print(f"   sorted(key=submit_s) {sort_s:.3f} s; sorted(key=(submit_s, id)) {sort_id_s:.3f} s; "
          f"schedule {plan_s:.3f} s")
    print(f"   ratio {ratio:.1f}x the submit-time sort ({plan_s / sort_id_s:.1f}x the (submit, id) sort); "
          f"target <= 20x: {'PASS' if ratio <= 20 else 'FAIL'}; {plan.loads} loads")
    return {"jobs": n_jobs, "sort_s": sort_s, "sort_id_s": sort_id_s, "plan_s": plan_s, "ratio": ratio,
            "ratio_vs_id_sort": plan_s / sort_id_s, "loads": plan.loads}


def main(argv: Sequence[str] | None = None) -> int:
    doc = __doc__.split("\n\n")[0] if __doc__ else ""
    p = argparse.ArgumentParser(prog="python -m bench.schedule", description=doc)
    p.add_argument("--quick", action="store_true", help="skip the 100k timing; 3 seeds instead of 10")
    p.add_argument("--no-plots", action="store_true", help="do not draw the PNGs")
    p.add_argument("--out", type=Path, default=Path("bench/out"), help="output directory (default bench/out)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"headline": headline(a.out, not a.no_plots)}
    results["densities"] = densities(a.out, not a.no_plots)
    results["seeds"] = seeds(3 if a.quick else 10)
    results["windows"] = windows()
    if not a.quick:
        results["speed"] = speed()
    (a.out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {a.out / 'results.json'}" + ("" if a.no_plots else " and the PNGs beside it"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
