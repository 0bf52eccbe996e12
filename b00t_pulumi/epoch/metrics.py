"""One evaluator for every plan (ours and the baselines): the numbers ``bench schedule`` prints.

Definitions (also in docs/scheduler.md):

* ``loads``: epochs whose load takes time (> 0 s). ``load_gpu_seconds``: their summed load time
  (each epoch is on one GPU; FIFO-cold loads once per job and GPU).
* ``lower_bound_loads``: :func:`~b00t_pulumi.epoch.bounds.lower_bound_loads` with the horizon =
  this plan's makespan, i.e. what any plan finishing no later than this one needs.
* ``saving_vs_fifo``: 1 - load_gpu_seconds / fifo_load_gpu_seconds (0.9 = 90 % less loading).
* ``p95_added_wait_s``: the 95th percentile (nearest rank) over placed jobs of start_s - submit_s,
  the whole delay from submit to start: holding to batch, queueing and the model load.
* ``makespan_s``: last job end - first submit (all jobs of the input, placed or not).
* ``budget_overruns``: with a daily limit, the placed jobs with a cost that, taken in start order
  within their day window [k x 86400, (k + 1) x 86400), bring that day's cumulative cost above the
  limit. 0 without a limit.
* ``plan_seconds``: wall time the scheduler took (measured by the caller).
* ``windowed_lower_bound_loads``: the windowed bound that holds for this plan: for waits within
  the batch window when every job of the plan starts within its window, else for waits up to the
  plan's longest (weaker); ``windowed_bound_wait_s`` and ``bound_note`` say which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from b00t_pulumi.epoch.bounds import lower_bound_loads, makespan_lower_bound, windowed_lower_bound_loads
from b00t_pulumi.epoch.model import DAY_S, Gpu, GroupSettings, Job, Placement, Plan


@dataclass(frozen=True)
class Metrics:
    jobs: int
    loads: int
    lower_bound_loads: int
    load_gpu_seconds: float
    fifo_load_gpu_seconds: float
    saving_vs_fifo: float
    p95_added_wait_s: float
    makespan_s: float
    makespan_lower_bound_s: float
    budget_overruns: int
    plan_seconds: float
    # Extras beyond issue 4's list, to read the numbers above.
    placed: int
    deferred: int
    mean_added_wait_s: float
    max_added_wait_s: float
    windowed_lower_bound_loads: int
    # The windowed bound holds for plans whose waits stay within this (the batch window when this
    # plan's do; else this plan's longest wait), and a sentence saying which.
    windowed_bound_wait_s: float
    bound_note: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    s = sorted(values)
    k = max(1, math.ceil(q / 100.0 * len(s)))
    return float(s[k - 1])


def budget_overruns(plan: Plan, jobs: Sequence[Job], daily_limit: Decimal | None) -> int:
    if daily_limit is None:
        return 0
    by_id = {j.id: j for j in jobs}
    rows = sorted(
        (p.start_s, p.id) for p in plan.placements().values() if p.id in by_id and by_id[p.id].cost is not None
    )
    spent: dict[int, Decimal] = {}
    over = 0
    for start, jid in rows:
        day = math.floor(start / DAY_S)
        cost = by_id[jid].cost
        assert cost is not None
        spent[day] = spent.get(day, Decimal(0)) + cost
        if spent[day] > daily_limit:
            over += 1
    return over


def evaluate(
    plan: Plan,
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    fifo_load_gpu_seconds: float | None = None,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
    daily_limit: Decimal | None = None,
    plan_seconds: float = 0.0,
) -> Metrics:
    """The metrics of ``plan``. ``fifo_load_gpu_seconds`` defaults to one load per job and GPU."""
    by_id = {j.id: j for j in jobs}
    # Jobs of the plan that the caller did not pass (e.g. kept from an earlier plan) are not counted.
    placed = {k: p for k, p in plan.placements().items() if k in by_id}
    waits = [p.start_s - by_id[p.id].submit_s for p in placed.values()]
    t0 = min((j.submit_s for j in jobs), default=0.0)
    end = max((p.end_s for p in placed.values()), default=t0)
    makespan = end - t0 if placed else 0.0
    placed_jobs = [by_id[i] for i in placed]
    if fifo_load_gpu_seconds is None:
        fifo_load_gpu_seconds = float(sum(j.load_s * j.gpus for j in placed_jobs))
    load_s = plan.load_gpu_seconds
    saving = 1.0 - load_s / fifo_load_gpu_seconds if fifo_load_gpu_seconds > 0 else 0.0
    return Metrics(
        jobs=len(jobs),
        loads=plan.loads,
        lower_bound_loads=lower_bound_loads(placed_jobs, gpus, makespan if placed else None),
        load_gpu_seconds=load_s,
        fifo_load_gpu_seconds=fifo_load_gpu_seconds,
        saving_vs_fifo=saving,
        p95_added_wait_s=percentile(waits, 95),
        makespan_s=makespan,
        makespan_lower_bound_s=makespan_lower_bound(placed_jobs, gpus) + (
            min(j.submit_s for j in placed_jobs) - t0 if placed_jobs else 0.0
        ),
        budget_overruns=budget_overruns(plan, jobs, daily_limit),
        plan_seconds=plan_seconds,
        placed=len(placed),
        deferred=len(plan.deferred),
        mean_added_wait_s=sum(waits) / len(waits) if waits else 0.0,
        max_added_wait_s=max(waits, default=0.0),
        **_windowed(plan, placed_jobs, placed, gpus, groups or {}, default or GroupSettings()),
    )


def _windowed(
    plan: Plan,
    jobs: Sequence[Job],
    placed: Mapping[str, Placement],
    gpus: Sequence[Gpu],
    groups: Mapping[str, GroupSettings],
    default: GroupSettings,
) -> dict[str, Any]:
    """The windowed bound that holds for this plan, and why (see bounds.windowed_lower_bound_loads)."""
    windows = {j.id: groups.get(j.group, default).batch_window_s for j in jobs}
    waits = {j.id: placed[j.id].start_s - j.submit_s for j in jobs}
    longest = max(waits.values(), default=0.0)
    if all(waits[i] <= windows[i] + 1e-9 for i in waits):
        bound = windowed_lower_bound_loads(jobs, len(gpus), groups=groups, default=default)
        wait = max(windows.values(), default=0.0)
        note = "every job starts within its batch window, so the windowed bound holds"
    else:
        bound = windowed_lower_bound_loads(jobs, len(gpus), groups=groups, default=default, max_wait_s=longest)
        wait = longest
        late = sum(1 for i in waits if waits[i] > windows[i] + 1e-9)
        note = (
            f"{late} job(s) wait longer than their window (up to {longest:.0f} s), so the bound for "
            f"waits within the window does not apply; this one assumes waits up to {longest:.0f} s"
        )
    return {"windowed_lower_bound_loads": bound, "windowed_bound_wait_s": wait, "bound_note": note}
