"""The scheduler benchmark: our epoch scheduler beside the two FIFO baselines (issues 4 and 13).

    .venv/bin/python -m bench.schedule            # everything, about 3 minutes on 2 cores
    .venv/bin/python -m bench.schedule --quick    # 3 seeds, 8 GPUs only, none of the extras

Prints, each beside FIFO keeping the last model warm ("warm") and one load per job ("cold"):

* the density sweep: 4, 12 and 48 groups x 600 ... 19,200 jobs a day on 8 GPUs x 4 slots, and
  the same on 4 and 16 GPUs; per point loads (ours / warm), ours / the lower bound that holds for
  our plan (and why it holds), p95 added wait (ours / warm), and whether ours dominates warm there:
  loads <= warm's and p95 <= warm's p95 + one window, or <= warm's p95 under saturation (offered
  work >= capacity, or warm's own p95 beyond a window);
* the headline (2,400 jobs in a day over 12 Zipf groups, 8 GPUs x 4 slots, 15-min window) on ten
  seeds: saving against one load per job, loads against warm, p95;
* a daily limit (the saving compared with FIFO-cold on the jobs the limit let through), per-GPU-type
  load times on a mixed inventory, a window sweep, and planning 100k and 1M jobs against Python's
  sort of the same jobs;
* (not with --quick) the saturated sweep points on seeds 1..8, how often ours dominates there; what
  the hold buys where it still sets the p95 (the same scheduler launching at once beside it); the
  headline seeds that miss a target with other victim values; a clairvoyant reference (the same
  scheduler told when each model is asked for next, bench/clairvoyant.py) where the bound holds.

Every plan is checked by the independent checker first. Writes bench/out/results.json and the PNGs
sweep.png, saturation.png, timeline-6h.png, timeline-6h-fifo-warm.png (bench/out/ is git-ignored).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from operator import attrgetter
from pathlib import Path
from typing import Any

from b00t_pulumi.epoch import (
    Gpu,
    GroupSettings,
    Job,
    Plan,
    check_plan,
    evaluate,
    fifo_cold,
    fifo_warm,
    percentile,
    schedule,
    uniform_inventory,
)
from b00t_pulumi.epoch import scheduler as scheduler_module
from bench.clairvoyant import clairvoyant_schedule
from bench.tracegen import TraceSpec, generate, group_names

SLOTS = 4
WINDOW = 900.0
GPU_COUNTS = (8, 4, 16)  # the base inventory first, then 0.5x and 2x
GROUPS = (4, 12, 48)
PER_DAY = (600, 1200, 2400, 4800, 9600, 19200)
HEADLINE = TraceSpec(seed=1, jobs=2400)
HEADLINE_GPUS = 8


def run_all(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    window: float = WINDOW,
    daily_limit: Decimal | None = None,
) -> dict[str, Any]:
    """Ours, FIFO-warm and FIFO-cold on one trace: plans (checked) and metrics.

    With a daily limit, ours defers some jobs; the baselines ignore budgets (Kueue has no money
    quota), so the saving is measured against FIFO-cold on the jobs ours placed.
    """
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
    baseline = cold
    if ours.deferred:
        placed = ours.placements()
        baseline = fifo_cold([j for j in jobs if j.id in placed], gpus, default=default)
    out: dict[str, Any] = {"plans": {"ours": ours, "warm": warm, "cold": cold}}
    for name, plan in out["plans"].items():
        m = evaluate(
            plan, jobs, gpus, fifo_load_gpu_seconds=(baseline if name == "ours" else cold).load_gpu_seconds,
            default=default, daily_limit=daily_limit, plan_seconds=seconds if name == "ours" else 0.0,
        )
        out[name] = m.to_dict()
    out["cold_all_load_gpu_seconds"] = cold.load_gpu_seconds
    return out


@contextmanager
def tuned(**constants: float) -> Iterator[None]:
    """Plan with some of the scheduler's constants changed: the alternatives docs/scheduler.md cites
    are measured with the same code, one constant away from what ships."""
    unknown = [name for name in constants if not hasattr(scheduler_module, name)]
    if unknown:
        raise AttributeError(f"the scheduler has no constant {', '.join(unknown)}")
    old = {name: getattr(scheduler_module, name) for name in constants}
    for name, value in constants.items():
        setattr(scheduler_module, name, value)
    try:
        yield
    finally:
        for name, value in old.items():
            setattr(scheduler_module, name, value)


def ours_vs_warm(jobs: Sequence[Job], gpus: Sequence[Gpu], warm: Plan | None = None) -> dict[str, Any]:
    """Loads and p95 added wait of ours and FIFO-warm on one trace, both plans checked (FIFO-warm's
    plan can be passed in when it was made already: it does not depend on our constants)."""
    default = GroupSettings(batch_window_s=WINDOW)
    ours = schedule(jobs, gpus, default=default)
    if warm is None:
        warm = fifo_warm(jobs, gpus, default=default)
    submit = {j.id: j.submit_s for j in jobs}
    out: dict[str, Any] = {"warm_plan": warm}
    for name, plan in (("ours", ours), ("warm", warm)):
        problems = check_plan(plan, jobs, gpus, default=default)
        if problems:
            raise SystemExit(f"{name}: the plan fails the checker: {problems[:5]}")
        waits = [p.start_s - submit[p.id] for p in plan.placements().values()]
        out[name] = {"loads": plan.loads, "p95": percentile(waits, 95),
                     "saving": 1 - plan.load_gpu_seconds / sum(j.load_s * j.gpus for j in jobs)}
    return out


def table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(c: object) -> str:
    if isinstance(c, float):
        return f"{c:.2f}" if abs(c) < 10 else f"{c:.0f}"
    return str(c)


def offered_load(jobs: Sequence[Job], gpus: Sequence[Gpu], days: float = 1.0) -> float:
    """Job-seconds (x GPUs) over the slot-seconds of ``days``: >= 1 means more work than capacity."""
    return sum(j.duration_s * j.gpus for j in jobs) / (sum(g.slots for g in gpus) * 86400.0 * days)


def bound_of(m: dict[str, Any]) -> tuple[int, str]:
    """The larger lower bound on loads that holds for this plan, and why it holds."""
    simple, windowed = m["lower_bound_loads"], m["windowed_lower_bound_loads"]
    if windowed >= simple:
        if m["windowed_bound_wait_s"] <= WINDOW:
            return windowed, "windowed (all waits within the window)"
        return windowed, f"windowed for waits up to {m['windowed_bound_wait_s']:.0f} s (longest wait)"
    return simple, "simple (one load per group, by makespan)"


def sweep(out_dir: Path, plots: bool, gpu_counts: Sequence[int]) -> list[dict[str, Any]]:
    print("\n== Density sweep: one day, seed 1, window 15 min, 4 slots per GPU; ours beside FIFO-warm")
    print("   dominates = loads <= warm's and p95 <= warm's p95 + one window (saturated: <= warm's p95);")
    print("   saturated = offered work >= capacity (rho >= 1) or warm's p95 beyond a window")
    rows: list[dict[str, Any]] = []
    for n_gpus in gpu_counts:
        gpus = uniform_inventory(n_gpus, SLOTS)
        for n_groups in GROUPS:
            for per_day in PER_DAY:
                jobs = generate(TraceSpec(seed=1, groups=n_groups, jobs=per_day))
                r = run_all(jobs, gpus)
                o, w, c = r["ours"], r["warm"], r["cold"]
                rho = offered_load(jobs, gpus)
                saturated = rho >= 1.0 or w["p95_added_wait_s"] > WINDOW
                limit = w["p95_added_wait_s"] + (0.0 if saturated else WINDOW)
                ok = o["loads"] <= w["loads"] and o["p95_added_wait_s"] <= limit
                bound, why = bound_of(o)
                rows.append({
                    "gpus": n_gpus, "groups": n_groups, "jobs": per_day, "rho": rho, "saturated": saturated,
                    "ours": o, "warm": w, "cold": c, "bound": bound, "bound_reason": why, "dominates": ok,
                })
    print(table(
        [[r["gpus"], r["groups"], r["jobs"], r["rho"], "yes" if r["saturated"] else "",
          r["ours"]["loads"], r["warm"]["loads"], r["cold"]["loads"], r["ours"]["loads"] / max(1, r["warm"]["loads"]),
          r["bound"], r["ours"]["loads"] / max(1, r["bound"]), r["ours"]["p95_added_wait_s"],
          r["warm"]["p95_added_wait_s"], _ratio(r["ours"]["p95_added_wait_s"], r["warm"]["p95_added_wait_s"]),
          "yes" if r["dominates"] else "NO"] for r in rows],
        ["gpus", "groups", "jobs/day", "rho", "sat", "loads", "warm", "cold", "ours/warm", "bound", "ours/bound",
         "p95", "warm-p95", "p95 ours/warm", "dominates"],
    ))
    kinds: dict[str, int] = {}
    for r in rows:
        kind = "windowed, for waits up to our longest" if "longest wait" in r["bound_reason"] else r["bound_reason"]
        kinds[kind] = kinds.get(kind, 0) + 1
    print("   bound = the larger of the lower bounds that hold for our plan at that point: "
          + "; ".join(f"{k} at {v}" for k, v in sorted(kinds.items())))
    print("   (where some of our jobs wait beyond the window, the bound for waits within it does not hold and is "
          "not used)")
    bad = [r for r in rows if not r["dominates"]]
    print(f"   dominates at {len(rows) - len(bad)} of {len(rows)} points" + (":" if bad else ""))
    for r in bad:
        o, w = r["ours"], r["warm"]
        print(f"     not at {r['gpus']} GPUs, {r['groups']} groups, {r['jobs']}/day: loads {o['loads']} vs "
              f"{w['loads']}, p95 {o['p95_added_wait_s']:.0f} s vs {w['p95_added_wait_s']:.0f} s")
    paying = [r for r in rows if "all waits within" in r["bound_reason"] and r["ours"]["loads"] < r["warm"]["loads"]]
    if paying:
        within = sum(1 for r in paying if r["ours"]["loads"] <= 1.5 * r["bound"])
        print(f"   where the windowed bound holds and batching pays ({len(paying)} points): loads within 1.5x of the "
              f"bound at {within}; ours/bound {min(r['ours']['loads'] / r['bound'] for r in paying):.2f} to "
              f"{max(r['ours']['loads'] / r['bound'] for r in paying):.2f}")
    if plots:
        from bench.plots import sweep_plot

        sweep_plot(rows, out_dir / "sweep.png", window=WINDOW)
    return rows


def _ratio(a: float, b: float) -> str:
    if b == 0:
        return "-" if a == 0 else "inf"
    return f"{a / b:.2f}"


def headline(out_dir: Path, plots: bool) -> dict[str, Any]:
    gpus = uniform_inventory(HEADLINE_GPUS, SLOTS)
    jobs = generate(HEADLINE)
    r = run_all(jobs, gpus)
    o, w, c = r["ours"], r["warm"], r["cold"]
    print(f"== Headline: {len(jobs)} jobs, {len({j.group for j in jobs})} groups (Zipf), "
          f"{HEADLINE_GPUS} GPUs x {SLOTS} slots, window 15 min, seed {HEADLINE.seed}")
    print("   models: " + ", ".join(f"{n} ({s:g} s)" for n, s in group_names(HEADLINE)))
    keys = ["loads", "load_gpu_seconds", "saving_vs_fifo", "p95_added_wait_s", "mean_added_wait_s",
            "max_added_wait_s", "makespan_s", "placed", "deferred"]
    print(table([[k, o[k], w[k], c[k]] for k in keys], ["metric", "ours", "fifo-warm", "fifo-cold"]))
    bound, why = bound_of(o)
    print(f"   lower bound on loads: {bound} ({why}; simple {o['lower_bound_loads']}, "
          f"windowed {o['windowed_lower_bound_loads']}: {o['bound_note']}); ours/bound {o['loads'] / bound:.2f}")
    print(f"   makespan {o['makespan_s']:.0f} s, lower bound {o['makespan_lower_bound_s']:.0f} s")
    # Budget: a daily limit of 80 % of what the day's jobs cost.
    total = sum((j.cost or Decimal(0) for j in jobs), Decimal(0))
    limit = (total * Decimal("0.8")).quantize(Decimal("0.01"))
    b = run_all(jobs, gpus, daily_limit=limit)
    ob, wb, cb = b["ours"], b["warm"], b["cold"]
    all_saving = 1 - ob["load_gpu_seconds"] / b["cold_all_load_gpu_seconds"]
    print(f"   with a daily limit of {limit} (80 % of the day's {total:.2f}): ours defers {ob['deferred']} jobs "
          f"with a reason, {ob['budget_overruns']} overruns (fifo-warm {wb['budget_overruns']}, fifo-cold "
          f"{cb['budget_overruns']}); saving {100 * ob['saving_vs_fifo']:.1f} % against FIFO-cold on the "
          f"{ob['placed']} jobs placed ({100 * all_saving:.1f} % if the deferred jobs' loads were counted)")
    if plots:
        from bench.plots import timeline

        ours: Plan = r["plans"]["ours"]
        timeline(ours, out_dir / "timeline-6h.png", start_s=0, end_s=6 * 3600,
                 title=f"Epoch plan, first 6 hours (black = model load); {o['loads']} loads in the day, "
                 f"{w['loads']} for FIFO-warm")
        warm_plan: Plan = r["plans"]["warm"]
        timeline(warm_plan, out_dir / "timeline-6h-fifo-warm.png", start_s=0, end_s=6 * 3600,
                 title="FIFO keeping the last model warm, first 6 hours (black = model load)")
    return {"ours": o, "warm": w, "cold": c, "bound": bound, "bound_reason": why,
            "budget": {"limit": str(limit), "ours": ob, "warm": wb, "cold": cb, "saving_all_jobs": all_saving}}


def seeds(n: int) -> dict[str, Any]:
    print(f"\n== Headline over seeds 1..{n} (the model sizes and arrivals change with the seed); targets: "
          "saving >= 92 % and loads <= 0.45x FIFO-warm's on every seed")
    gpus = uniform_inventory(HEADLINE_GPUS, SLOTS)
    rows = []
    for s in range(1, n + 1):
        spec = TraceSpec(seed=s, jobs=2400)
        r = run_all(generate(spec), gpus)
        o, w = r["ours"], r["warm"]
        bound, _ = bound_of(o)
        sizes = "/".join(str(sum(1 for _, x in group_names(spec) if x == v)) for v in (8.0, 15.0, 34.0, 84.0))
        rows.append([s, sizes, o["loads"], w["loads"], o["loads"] / w["loads"], o["saving_vs_fifo"],
                     w["saving_vs_fifo"], o["p95_added_wait_s"], w["p95_added_wait_s"], bound, o["loads"] / bound,
                     "yes" if o["saving_vs_fifo"] >= 0.92 and o["loads"] <= 0.45 * w["loads"] else "NO"])
    print(table(
        [[*r[:4], f"{r[4]:.3f}", f"{100 * r[5]:.1f} %", f"{100 * r[6]:.1f} %", *r[7:]] for r in rows],
        ["seed", "7/13/30/70B", "loads", "warm", "ours/warm", "saving", "warm-saving", "p95", "warm-p95", "bound",
         "ours/bound", "targets"],
    ))
    summary = {
        "ratio": [min(r[4] for r in rows), statistics.median(r[4] for r in rows), max(r[4] for r in rows)],
        "saving": [min(r[5] for r in rows), statistics.median(r[5] for r in rows), max(r[5] for r in rows)],
        "p95": [min(r[7] for r in rows), statistics.median(r[7] for r in rows), max(r[7] for r in rows)],
        "rows": rows,
    }
    spread = "; ".join(f"{k} {v[0]:.3f} / {v[1]:.3f} / {v[2]:.3f}" for k, v in summary.items() if k != "rows")
    print(f"   min / median / max: {spread}")
    met = sum(1 for r in rows if r[-1] == "yes")
    print(f"   both targets met on {met} of {len(rows)} seeds; saving >= 92 % on "
          f"{sum(1 for r in rows if r[5] >= 0.92)}, loads <= 0.45x on {sum(1 for r in rows if r[4] <= 0.45)}")
    return summary


def per_type() -> dict[str, Any]:
    """Four A100 and four H100; every model loads 40 % faster on an H100."""
    print("\n== Per-GPU-type load times: headline trace on 4 A100 + 4 H100 (4 slots), models load 0.6x on H100")
    gpus = [Gpu(f"a{i}", node="na", gpu_type="A100", slots=SLOTS) for i in range(4)]
    gpus += [Gpu(f"h{i}", node="nh", gpu_type="H100", slots=SLOTS) for i in range(4)]
    jobs = [
        Job(j.id, j.group, j.submit_s, j.duration_s, j.load_s, cost=j.cost, load_by_type=(("H100", 0.6 * j.load_s),))
        for j in generate(HEADLINE)
    ]
    r = run_all(jobs, gpus)
    ours: Plan = r["plans"]["ours"]
    on_h = sum(1 for e in ours.epochs if e.load_s > 0 and e.gpu.startswith("h"))
    print(f"   loads ours {r['ours']['loads']} ({on_h} on H100), warm {r['warm']['loads']}, cold {r['cold']['loads']}; "
          f"load GPU-seconds ours {r['ours']['load_gpu_seconds']:.0f}, warm {r['warm']['load_gpu_seconds']:.0f}, "
          f"cold {r['cold']['load_gpu_seconds']:.0f}; saving {100 * r['ours']['saving_vs_fifo']:.1f} %")
    return {"ours": r["ours"], "warm": r["warm"], "cold": r["cold"], "loads_on_h100": on_h}


def windows() -> list[dict[str, Any]]:
    print("\n== Window sweep on the headline trace (the batch window is the user's wait-for-batching knob)")
    jobs = generate(HEADLINE)
    gpus = uniform_inventory(HEADLINE_GPUS, SLOTS)
    rows = []
    for minutes in (2, 5, 10, 15, 30, 60):
        r = run_all(jobs, gpus, window=minutes * 60.0)
        rows.append({"window_min": minutes, "ours": r["ours"], "warm": r["warm"]})
    print(table(
        [[r["window_min"], r["ours"]["loads"], r["warm"]["loads"], r["ours"]["loads"] / r["warm"]["loads"],
          r["ours"]["saving_vs_fifo"], r["ours"]["p95_added_wait_s"], r["ours"]["mean_added_wait_s"],
          r["warm"]["p95_added_wait_s"]] for r in rows],
        ["window-min", "loads", "warm", "ours/warm", "saving", "p95", "mean-wait", "warm-p95"],
    ))
    return rows


def saturation(rows: Sequence[dict[str, Any]], out_dir: Path, plots: bool, n_seeds: int = 8) -> dict[str, Any]:
    """The saturated points of the sweep again on more trace seeds: how often ours dominates there."""
    points = [(r["gpus"], r["groups"], r["jobs"]) for r in rows if r["saturated"]]
    print(f"\n== Saturated sweep points on seeds 1..{n_seeds} (same shape, other arrivals, durations and model "
          "sizes): does ours dominate (loads <= warm's and p95 <= warm's)?")
    results: list[dict[str, Any]] = []
    lines = []
    for n_gpus, n_groups, per_day in points:
        gpus = uniform_inventory(n_gpus, SLOTS)
        runs = []
        for seed in range(1, n_seeds + 1):
            r = ours_vs_warm(generate(TraceSpec(seed=seed, groups=n_groups, jobs=per_day)), gpus)
            o, w = r["ours"], r["warm"]
            runs.append({"seed": seed, "loads": o["loads"], "warm_loads": w["loads"], "p95": o["p95"],
                         "warm_p95": w["p95"], "dominates": o["loads"] <= w["loads"] and o["p95"] <= w["p95"]})
        results.append({"gpus": n_gpus, "groups": n_groups, "jobs": per_day, "runs": runs})
        ratios = sorted(x["p95"] / x["warm_p95"] for x in runs)
        lines.append([n_gpus, n_groups, per_day, sum(x["dominates"] for x in runs),
                      sum(x["loads"] <= x["warm_loads"] for x in runs), sum(x["p95"] <= x["warm_p95"] for x in runs),
                      f"{ratios[0]:.3f}", f"{statistics.median(ratios):.3f}", f"{ratios[-1]:.3f}",
                      f"{sum(x['loads'] for x in runs) / sum(x['warm_loads'] for x in runs):.2f}"])
    print(table(lines, ["gpus", "groups", "jobs/day", "dominates", "loads<=", "p95<=", "p95 ratio min", "median",
                        "max", "loads ours/warm (sum)"]))
    runs_all = [x for r in results for x in r["runs"]]
    won = sum(x["dominates"] for x in runs_all)
    print(f"   ours dominates at {won} of {len(runs_all)} saturated (point, seed) pairs; loads <= warm's at "
          f"{sum(x['loads'] <= x['warm_loads'] for x in runs_all)}, p95 <= warm's at "
          f"{sum(x['p95'] <= x['warm_p95'] for x in runs_all)}; median p95 ratio "
          f"{statistics.median(x['p95'] / x['warm_p95'] for x in runs_all):.3f}")
    if plots:
        from bench.plots import saturation_plot

        saturation_plot(results, out_dir / "saturation.png")
    return {"points": results, "dominates": won, "pairs": len(runs_all)}


def holds(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Where holding still sets the p95 (sparse traffic), what launching at once would cost; and the
    same rule on the headline seeds."""
    print("\n== What the hold buys: ours beside the same scheduler launching every new batch at once onto an "
          "idle GPU (EAGER = 1), where our p95 is more than 120 s above FIFO-warm's and the point is not saturated")
    lines = []
    out: dict[str, Any] = {"sweep": [], "headline": []}
    for r in rows:
        if r["saturated"] or r["ours"]["p95_added_wait_s"] <= r["warm"]["p95_added_wait_s"] + 120:
            continue
        jobs = generate(TraceSpec(seed=1, groups=r["groups"], jobs=r["jobs"]))
        gpus = uniform_inventory(r["gpus"], SLOTS)
        with tuned(EAGER=1.0):
            e = ours_vs_warm(jobs, gpus)["ours"]
        o, w = r["ours"], r["warm"]
        lines.append([r["gpus"], r["groups"], r["jobs"], o["loads"], e["loads"], w["loads"],
                      f"{o['loads'] / w['loads']:.2f}", f"{e['loads'] / w['loads']:.2f}",
                      o["p95_added_wait_s"], e["p95"], w["p95_added_wait_s"]])
        out["sweep"].append({"gpus": r["gpus"], "groups": r["groups"], "jobs": r["jobs"], "ours": o["loads"],
                             "at_once": e["loads"], "warm": w["loads"], "p95": o["p95_added_wait_s"],
                             "at_once_p95": e["p95"], "warm_p95": w["p95_added_wait_s"]})
    print(table(lines, ["gpus", "groups", "jobs/day", "loads", "at once", "warm", "ours/warm", "at once/warm",
                        "p95", "at-once p95", "warm p95"]))
    gpus = uniform_inventory(HEADLINE_GPUS, SLOTS)
    for seed in range(1, 11):
        with tuned(EAGER=1.0):
            r = ours_vs_warm(generate(TraceSpec(seed=seed, jobs=2400)), gpus)
        out["headline"].append({"seed": seed, "ratio": r["ours"]["loads"] / r["warm"]["loads"],
                                "saving": r["ours"]["saving"], "p95": r["ours"]["p95"]})
    hl = out["headline"]
    print(f"   the headline's ten seeds launching at once: loads {min(x['ratio'] for x in hl):.2f}-"
          f"{max(x['ratio'] for x in hl):.2f}x FIFO-warm's (target <= 0.45), saving "
          f"{100 * min(x['saving'] for x in hl):.1f}-{100 * max(x['saving'] for x in hl):.1f} %, p95 "
          f"{min(x['p95'] for x in hl):.0f}-{max(x['p95'] for x in hl):.0f} s")
    return out


def eviction_values(missed: Sequence[int]) -> list[dict[str, Any]]:
    """The headline seeds that miss a target, with other weights of a load in the victim value."""
    if not missed:
        return []
    print(f"\n== Seeds {', '.join(map(str, missed))} with other victim values: VALUE_K = seconds added to each "
          "load's cost (0 = load seconds alone, ships with 15)")
    gpus = uniform_inventory(HEADLINE_GPUS, SLOTS)
    traces = {seed: generate(TraceSpec(seed=seed, jobs=2400)) for seed in missed}
    warm = {seed: fifo_warm(traces[seed], gpus, default=GroupSettings(batch_window_s=WINDOW)) for seed in missed}
    lines = []
    out = []
    for k in (0.0, 5.0, 10.0, 15.0, 30.0, 60.0):
        with tuned(VALUE_K=k):
            for seed in missed:
                r = ours_vs_warm(traces[seed], gpus, warm[seed])
                ratio = r["ours"]["loads"] / r["warm"]["loads"]
                out.append({"value_k": k, "seed": seed, "ratio": ratio, "saving": r["ours"]["saving"]})
                lines.append([f"{k:g}", seed, r["ours"]["loads"], f"{ratio:.3f}", f"{100 * r['ours']['saving']:.1f} %",
                              "yes" if ratio <= 0.45 and r["ours"]["saving"] >= 0.92 else ""])
    print(table(lines, ["VALUE_K", "seed", "loads", "ours/warm", "saving", "both targets"]))
    return out


# The clairvoyant variants: (name, load_power, horizon_s) of bench.clairvoyant.clairvoyant_schedule.
CLAIRVOYANT = (("next arrival", 0.0, 1.0), ("x load", 1.0, 1.0), ("x load^2", 2.0, WINDOW))


def clairvoyance(rows: Sequence[dict[str, Any]], headline_rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """Ours beside the clairvoyant reference (bench/clairvoyant.py): where the windowed bound holds
    and batching pays (``rows``: the sweep's), how near the bound a victim choice that knows the next
    arrivals gets; on the headline's seeds (``headline_rows``: those ``seeds`` printed), which loads
    and savings it reaches."""
    print("\n== A clairvoyant reference: the same scheduler taking over the GPU whose model is asked for again "
          "last (read from the trace, which no online scheduler can); the hold and everything else unchanged")
    default = GroupSettings(batch_window_s=WINDOW)

    def plan(jobs: Sequence[Job], gpus: Sequence[Gpu], power: float, horizon: float) -> dict[str, Any]:
        p = clairvoyant_schedule(jobs, gpus, default=default, load_power=power, horizon_s=horizon)
        problems = check_plan(p, jobs, gpus, default=default)
        if problems:
            raise SystemExit(f"clairvoyant: the plan fails the checker: {problems[:5]}")
        return evaluate(p, jobs, gpus, default=default).to_dict()

    paying = [r for r in rows if "all waits within" in r["bound_reason"] and r["ours"]["loads"] < r["warm"]["loads"]]
    lines = []
    points = []
    for r in paying:
        jobs = generate(TraceSpec(seed=1, groups=r["groups"], jobs=r["jobs"]))
        c = plan(jobs, uniform_inventory(r["gpus"], SLOTS), 0.0, 1.0)
        holds = c["windowed_bound_wait_s"] <= WINDOW  # the bound for waits within the window holds for it too
        points.append({"gpus": r["gpus"], "groups": r["groups"], "jobs": r["jobs"], "bound": r["bound"],
                       "ours": r["ours"]["loads"], "clairvoyant": c["loads"], "bound_holds": holds})
        lines.append([r["gpus"], r["groups"], r["jobs"], r["bound"], r["ours"]["loads"], c["loads"],
                      r["ours"]["loads"] / r["bound"], c["loads"] / r["bound"] if holds else "-"])
    print(table(lines, ["gpus", "groups", "jobs/day", "bound", "ours", "clairvoyant", "ours/bound",
                        "clairvoyant/bound"]))
    ratios = [p["clairvoyant"] / p["bound"] for p in points if p["bound_holds"]]
    print(f"   where the windowed bound holds and batching pays ({len(points)} points): within 1.5x of the bound "
          f"ours at {sum(1 for p in points if p['ours'] <= 1.5 * p['bound'])}, the clairvoyant reference at "
          f"{sum(1 for x in ratios if x <= 1.5)} of the {len(ratios)} where the bound holds for it too "
          f"({min(ratios):.2f} to {max(ratios):.2f})")
    gpus = uniform_inventory(HEADLINE_GPUS, SLOTS)
    seed_rows = []
    for s, _, _, warm, ratio, saving, *_ in headline_rows:
        jobs = generate(TraceSpec(seed=s, jobs=2400))
        row: dict[str, Any] = {"seed": s, "warm": warm, "ours": [ratio, saving]}
        for name, power, horizon in CLAIRVOYANT:
            c = plan(jobs, gpus, power, horizon)
            row[name] = [c["loads"] / warm, c["saving_vs_fifo"]]
        seed_rows.append(row)
    names = ["ours", *(n for n, _, _ in CLAIRVOYANT)]
    print(table(
        [[r["seed"], *(f"{r[n][0]:.3f} / {100 * r[n][1]:.1f} %" for n in names)] for r in seed_rows],
        ["seed", *(f"{n}: loads/warm, saving" for n in names)],
    ))
    for n in names:
        met = sum(1 for r in seed_rows if r[n][0] <= 0.45 and r[n][1] >= 0.92)
        print(f"   {n}: both headline targets on {met} of {len(seed_rows)} seeds; saving "
              f"{100 * min(r[n][1] for r in seed_rows):.1f} to {100 * max(r[n][1] for r in seed_rows):.1f} %")
    print("   (x load: the next arrival weighed by the load it would cost, as ours weighs its estimate; "
          "x load^2: by its square, over the time to the next arrival + one window)")
    return {"points": points, "seeds": seed_rows}


def _cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of one call."""
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def speed() -> dict[str, Any]:
    print("\n== Planning time against Python's sort of the same jobs (shuffled first; best of 5, sort and "
          "schedule interleaved; CPU time of this process, so that other work on the machine does not count; "
          "8 GPUs x 4 slots)")
    gpus = uniform_inventory(8, SLOTS)
    rows = []
    cases = [
        ("100k, headline density", 100_000, 100_000 / 2400, 5, 15.0),
        ("100k in one day (overload)", 100_000, 1.0, 5, 20.0),
        ("1M, headline density", 1_000_000, 1_000_000 / 2400, 2, None),
    ]
    out: dict[str, Any] = {}
    for name, n, days, reps, target in cases:
        jobs = generate(TraceSpec(seed=7, jobs=n, days=days))
        random.Random(0).shuffle(jobs)
        sort_s = plan_s = plan_wall = float("inf")
        for _ in range(reps):
            sort_s = min(sort_s, _cpu(lambda: sorted(jobs, key=attrgetter("submit_s")))[0])  # noqa: B023
            cpu, wall = _cpu(lambda: schedule(jobs, gpus))  # noqa: B023
            plan_s, plan_wall = min(plan_s, cpu), min(plan_wall, wall)
        plan = schedule(jobs, gpus)
        if n <= 100_000:
            assert check_plan(plan, jobs, gpus) == []
        ratio = plan_s / sort_s
        if target is not None:
            verdict = f"target <= {target:g}x: {'PASS' if ratio <= target else 'FAIL'}"
        else:
            verdict = f"target < 10 s: {'PASS' if plan_wall < 10 else 'FAIL'}"
        rows.append([name, f"{sort_s:.3f}", f"{plan_s:.3f}", f"{plan_wall:.3f}", f"{ratio:.1f}x", plan.loads, verdict])
        out[name] = {"jobs": n, "sort_s": sort_s, "plan_s": plan_s, "plan_wall_s": plan_wall, "ratio": ratio,
                     "loads": plan.loads}
    print(table(rows, ["case", "sort s", "schedule s", "wall s", "ratio", "loads", ""]))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    doc = __doc__.split("\n\n")[0] if __doc__ else ""
    p = argparse.ArgumentParser(prog="python -m bench.schedule", description=doc)
    p.add_argument("--quick", action="store_true",
                   help="3 seeds, the sweep on 8 GPUs only; no seed spread, alternatives or planning times")
    p.add_argument("--no-plots", action="store_true", help="do not draw the PNGs")
    p.add_argument("--out", type=Path, default=Path("bench/out"), help="output directory (default bench/out)")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    plots = not a.no_plots
    results: dict[str, Any] = {"headline": headline(a.out, plots)}
    results["seeds"] = seeds(3 if a.quick else 10)
    results["sweep"] = sweep(a.out, plots, GPU_COUNTS[:1] if a.quick else GPU_COUNTS)
    results["per_type"] = per_type()
    results["windows"] = windows()
    if not a.quick:
        results["saturation"] = saturation(results["sweep"], a.out, plots)
        results["holds"] = holds(results["sweep"])
        missed = [r[0] for r in results["seeds"]["rows"] if r[-1] != "yes"]
        results["eviction_values"] = eviction_values(missed)
        results["clairvoyance"] = clairvoyance(results["sweep"], results["seeds"]["rows"])
        results["speed"] = speed()
    (a.out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {a.out / 'results.json'}" + ("" if a.no_plots else " and the PNGs beside it"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
