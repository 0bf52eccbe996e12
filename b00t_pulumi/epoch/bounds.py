"""Lower bounds that no plan can beat: model loads and makespan.

``lower_bound_loads`` is the simple bound of FACTS section 10, with the slots made explicit: one
load of group g on a GPU of S slots can serve at most S x (H - s_g) slot-seconds of work before
the horizon H ends, so the group needs at least ``ceil(W_g / (S x (H - s_g)))`` loads, at least
one, and at least as many as its widest gang job. (FACTS writes ``W_g / (H - s_g)``; with
time-slicing a GPU runs S jobs at once, so dividing by S is what keeps it a lower bound.)

``windowed_lower_bound_loads`` is stronger and holds for plans in which every job starts within
its group's batch window of its submit time, or within ``max_wait_s`` (pass the longest wait of the
plan you compare with it, when that is longer than the window).
Take a time interval (a, b] and the groups with a job submitted at or after a whose window closes
by b: each such group must be on a GPU at some moment of (a, b]. At time a at most M groups
(M = GPUs) are loaded or loading, so at least k - M of those k groups need a load that finishes in
(a, b]. Loads counted in disjoint intervals are distinct; a weighted-interval DP picks the
intervals that sum to the most.

Loads differ between jobs (``Job.load_on`` per GPU type): the bounds count a job as needing a load
only if it needs one on every GPU type, and take each load as short as the fastest one possible.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence

from b00t_pulumi.epoch.model import Gpu, GroupSettings, Job

_EPS = 1e-9


def _least_load(job: Job, types: Iterable[str] | None) -> float:
    """The shortest load the job can have: on its fastest GPU type (of ``types``, or any)."""
    if not job.load_by_type:
        return job.load_s
    loads = [job.load_on(t) for t in types] if types is not None else [job.load_s, *(s for _, s in job.load_by_type)]
    return min(loads, default=job.load_s)


def _needs_load(jobs: Iterable[Job], types: Iterable[str] | None = None) -> dict[str, float]:
    """Per group, the shortest load any of its jobs that needs one can have (groups whose jobs
    all load in 0 s are left out: they never need one)."""
    out: dict[str, float] = {}
    ts = None if types is None else sorted(set(types))
    for j in jobs:
        s = _least_load(j, ts)
        if s > 0 and s < out.get(j.group, INF):
            out[j.group] = s
    return out


INF = float("inf")


def lower_bound_loads(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    horizon_s: float | None = None,
    *,
    held: Mapping[str, int] | None = None,
) -> int:
    """Loads any plan needs to run ``jobs`` within ``horizon_s`` seconds of the first submit.

    ``horizon_s`` None means no deadline (then: one load per group that needs one, and as many as
    its widest gang). ``held`` maps a group to the GPUs that already hold it at the start (a
    re-plan); they serve S x H slot-seconds with no load. Groups whose load takes 0 s need none.
    """
    if not jobs or not gpus:
        return 0
    held = held or {}
    slots = max(g.slots for g in gpus)
    types = [g.gpu_type for g in gpus]
    load = _needs_load(jobs, types)  # a load serving any of these jobs takes at least this long
    work: dict[str, float] = {}
    width: dict[str, int] = {}
    for j in jobs:
        if _least_load(j, types) > 0:
            work[j.group] = work.get(j.group, 0.0) + j.duration_s * j.gpus
            width[j.group] = max(width.get(j.group, 0), j.gpus)
    total = 0
    for g, s in load.items():
        k = held.get(g, 0)
        need = max(width[g] - k, 0 if k else 1)
        if horizon_s is not None:
            left = work[g] - k * slots * horizon_s
            per_load = slots * (horizon_s - s)
            if left > _EPS:
                need = max(need, math.ceil(left / per_load - _EPS) if per_load > 0 else len(gpus) + 1)
        total += need
    return total


def windowed_lower_bound_loads(
    jobs: Sequence[Job],
    n_gpus: int,
    *,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
    lengths: Sequence[float] = (1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0),
    max_wait_s: float | None = None,
) -> int:
    """Loads any plan needs if every job starts within its batch window (see the module doc), or,
    with ``max_wait_s``, within that many seconds of its submit (then it holds for a plan whose
    waits exceed the window: pass that plan's longest wait).

    Also at least :func:`lower_bound_loads` with no horizon. ``lengths`` are the interval
    lengths tried, in windows.
    """
    if not jobs or n_gpus <= 0:
        return 0
    groups = groups or {}
    default = default or GroupSettings()
    # The largest window: a job submitted at r surely has its window closed by r + w_max.
    w = max(groups.get(g, default).batch_window_s for g in {j.group for j in jobs})
    if max_wait_s is not None:
        w = max_wait_s
    order = sorted((j.submit_s, j.group) for j in jobs if _least_load(j, None) > 0)
    simple = len({g for _, g in order})
    if not order or w <= 0:
        return simple
    starts = sorted({r for r, _ in order})
    intervals: list[tuple[float, float, int]] = []
    for m in lengths:
        span = m * w
        # Groups with a submit in [a, a + span - w]: their windows all close by b = a + span.
        count: dict[str, int] = {}
        hi = 0
        lo = 0
        for a in starts:
            while lo < len(order) and order[lo][0] < a:
                g = order[lo][1]
                count[g] -= 1
                if not count[g]:
                    del count[g]
                lo += 1
            while hi < len(order) and order[hi][0] <= a + span - w:
                count[order[hi][1]] = count.get(order[hi][1], 0) + 1
                hi += 1
            value = len(count) - n_gpus
            if value > 0:
                intervals.append((a + span, a, value))
    if not intervals:
        return simple
    intervals.sort()
    ends = [iv[0] for iv in intervals]
    best = [0] * (len(intervals) + 1)  # best[i] = best total using the first i intervals (by end)
    for i, (_, a, value) in enumerate(intervals):
        p = bisect.bisect_right(ends, a, 0, i)  # intervals ending at or before a are disjoint
        best[i + 1] = max(best[i], best[p] + value)
    return max(simple, best[-1])


def makespan_lower_bound(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    now: float | None = None,
    held: Iterable[str] = (),
) -> float:
    """Seconds from the first submit to the end of the last job, for any plan that runs ``jobs``.

    The larger of: a job cannot end before max(submit, now + its load unless its model is already
    held) + duration; and for every submit time r, the work submitted at or after r cannot end
    before r + that work / the total slots.
    """
    if not jobs or not gpus:
        return 0.0
    held_set = set(held)
    t0 = min(j.submit_s for j in jobs)
    lo = -math.inf if now is None else now
    types = sorted({g.gpu_type for g in gpus})
    single = max(
        max(j.submit_s, lo + (0.0 if j.group in held_set else _least_load(j, types))) + j.duration_s for j in jobs
    )
    slots = sum(g.slots for g in gpus)
    by_submit = sorted(((max(j.submit_s, lo), j.duration_s * j.gpus) for j in jobs), reverse=True)
    capacity = -math.inf
    suffix = 0.0
    for r, w in by_submit:
        suffix += w
        capacity = max(capacity, r + suffix / slots)
    return max(single, capacity) - t0
