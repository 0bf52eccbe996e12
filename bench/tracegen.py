"""A seeded synthetic job trace: Poisson arrivals, Zipf group popularity, lognormal durations.

Each group is one model; its load time follows the model size (seconds from a standard loader):
7B ~ 8 s, 13B ~ 15 s, 30B ~ 34 s, 70B ~ 84 s. The 30B and 70B figures are ServerlessLLM's (OSDI'24,
OPT-30B and Llama-2-70B); 7B and 13B are scaled from them (about 1.15 s per billion parameters).

Usage::

    .venv/bin/python -m bench.tracegen --out bench/out/day.csv --jobs 2400 --seed 1
    .venv/bin/python -m bench.tracegen --out bench/out/dense.csv --density 8 --days 1

The same seed and arguments always give the same file.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from b00t_pulumi.epoch.model import DAY_S, Job
from b00t_pulumi.epoch.trace import write_trace

MODEL_LOAD_S: dict[str, float] = {"7b": 8.0, "13b": 15.0, "30b": 34.0, "70b": 84.0}


@dataclass(frozen=True)
class TraceSpec:
    """What to generate. ``density`` = mean jobs per group per window (over all groups)."""

    seed: int = 1
    groups: int = 12
    days: float = 1.0
    density: float = 2.0
    window_s: float = 900.0
    jobs: int | None = None  # an exact number of jobs (then ``density`` is ignored)
    zipf_s: float = 1.0
    duration_median_s: float = 150.0
    duration_sigma: float = 0.9
    price_per_gpu_hour: Decimal = Decimal("2.74")  # A100 40GB on-demand (FACTS section 11)
    gang_fraction: float = 0.0  # share of jobs that need 2 GPUs at once
    sizes: tuple[str, ...] = field(default=tuple(MODEL_LOAD_S))


def group_names(spec: TraceSpec) -> list[tuple[str, float]]:
    """(group name, load seconds), most popular first; sizes drawn with the seed."""
    rng = random.Random(f"sizes-{spec.seed}")
    out = []
    for k in range(spec.groups):
        size = rng.choice(spec.sizes)
        out.append((f"m{k + 1:02d}-{size}", MODEL_LOAD_S[size]))
    return out


def generate(spec: TraceSpec) -> list[Job]:
    """The jobs of a trace, sorted by submit time (whole seconds), ids j000001..."""
    rng = random.Random(spec.seed)
    horizon = spec.days * DAY_S
    if spec.jobs is not None:
        # A Poisson process conditioned on its count: uniform order statistics.
        times = sorted(rng.uniform(0, horizon) for _ in range(spec.jobs))
    else:
        rate = spec.density * spec.groups / spec.window_s
        times = []
        t = rng.expovariate(rate)
        while t < horizon:
            times.append(t)
            t += rng.expovariate(rate)
    groups = group_names(spec)
    weights = [1.0 / (k + 1) ** spec.zipf_s for k in range(spec.groups)]
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    mu = math.log(spec.duration_median_s)
    price = spec.price_per_gpu_hour
    jobs = []
    width = max(6, len(str(len(times))))
    for i, t in enumerate(times):
        k = _pick(cum, rng.random() * acc)
        name, load = groups[k]
        duration = max(1.0, float(round(rng.lognormvariate(mu, spec.duration_sigma))))
        gpus = 2 if spec.gang_fraction and rng.random() < spec.gang_fraction else 1
        cost = (price * Decimal(int(duration)) * gpus / Decimal(3600)).quantize(Decimal("0.0001"))
        jobs.append(
            Job(
                id=f"j{i + 1:0{width}d}",
                group=name,
                submit_s=float(math.floor(t)),
                duration_s=duration,
                load_s=load,
                gpus=gpus,
                cost=cost,
            )
        )
    return jobs


def _pick(cum: Sequence[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.tracegen", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--groups", type=int, default=12)
    p.add_argument("--days", type=float, default=1.0)
    p.add_argument("--density", type=float, default=2.0, help="jobs per group per window (default 2)")
    p.add_argument("--window", type=float, default=900.0, help="window in seconds (default 900)")
    p.add_argument("--jobs", type=int, help="exact number of jobs (overrides --density)")
    p.add_argument("--gang-fraction", type=float, default=0.0, help="share of jobs needing 2 GPUs")
    a = p.parse_args(argv)
    spec = TraceSpec(
        seed=a.seed, groups=a.groups, days=a.days, density=a.density, window_s=a.window, jobs=a.jobs,
        gang_fraction=a.gang_fraction,
    )
    jobs = generate(spec)
    write_trace(jobs, a.out)
    print(f"wrote {len(jobs)} jobs over {spec.groups} groups to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
