"""The two schedulers a user would otherwise get, in the same output shape as ours.

* :func:`fifo_cold` - Kueue BestEffortFIFO with one pod per Job on time-sliced GPUs: every job
  is its own process that loads its model into its own slot, then runs. Any mix of models may
  share a GPU (time-slicing does not isolate them). One load per job. Each job is its own epoch
  of one slot, so check these plans with ``check_plan(..., exclusive=False)``.
* :func:`fifo_warm` - FIFO that keeps the last model warm on each GPU (LRU): a job goes to a GPU
  that already holds its model and has a free slot; else to an idle GPU, loading its model there
  (evicting the least recently used model); else it waits. Nothing is held back to batch.

Both are event-driven, place jobs in submit order (ties by id), honour ``max_concurrent_jobs``
and ignore budgets (Kueue has no money quota). A gang job that can never fit is deferred with the
same reason as in our scheduler.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from operator import attrgetter

from b00t_pulumi.epoch.model import Deferred, Epoch, Gpu, GroupSettings, Job, Placement, Plan
from b00t_pulumi.epoch.scheduler import _submit_order
from b00t_pulumi.epoch.validate import check_inputs, gang_deferral

_INF = float("inf")


def _tokens(groups: Mapping[str, GroupSettings], default: GroupSettings, jobs: Sequence[Job]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for j in jobs:
        if j.group in out:
            continue
        m = groups.get(j.group, default).max_concurrent_jobs
        if m is not None:
            out[j.group] = [-_INF] * m
    return out


def _prepare(jobs: Sequence[Job], gpus: Sequence[Gpu], groups: Mapping[str, GroupSettings] | None,
             default: GroupSettings | None) -> tuple[tuple[Gpu, ...], dict[str, list[float]]]:
    """Checked inputs shared by both baselines: GPUs in id order and per-group concurrency tokens."""
    groups = groups or {}
    default = default or GroupSettings()
    check_inputs(jobs, gpus, groups, default)
    return tuple(sorted(gpus, key=attrgetter("id"))), _tokens(groups, default, jobs)


def fifo_cold(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
) -> Plan:
    """One load per job: each job takes the slot that frees first, loads, then runs."""
    inv, tokens = _prepare(jobs, gpus, groups, default)
    free: list[list[float]] = [[-_INF] * g.slots for g in inv]
    epochs: list[Epoch] = []
    deferred: list[Deferred] = []
    for job in _submit_order(jobs):
        reason = gang_deferral(job, inv)
        if reason is not None:
            deferred.append(Deferred(job.id, reason))
            continue
        cands = sorted(
            (free[i][0], i) for i, g in enumerate(inv) if job.gpu_type is None or g.gpu_type == job.gpu_type
        )[: job.gpus]
        ls = max(job.submit_s, max(c[0] for c in cands))
        tk = tokens.get(job.group)
        if tk is not None and tk[0] - job.load_s > ls:
            ls = tk[0] - job.load_s  # the pod waits for quota, then loads; its run counts
        start = ls + job.load_s
        end = start + job.duration_s
        if tk is not None:
            heapq.heapreplace(tk, end)
        for _, i in cands:
            heapq.heapreplace(free[i], end)
            epochs.append(
                Epoch(
                    f"{inv[i].id}-c{len(epochs) + 1}", inv[i].id, job.group, ls, job.load_s, start, end,
                    (Placement(job.id, start, end),),
                )
            )
    epochs.sort(key=lambda e: (e.load_start_s, e.gpu, e.id))
    return Plan(gpus=inv, epochs=tuple(epochs), deferred=tuple(sorted(deferred, key=attrgetter("id"))))


class _WGpu:
    __slots__ = ("busy", "free", "held", "i", "jobs", "last_used", "load_end", "load_s", "load_start", "type")

    def __init__(self, i: int, g: Gpu) -> None:
        self.i = i
        self.type = g.gpu_type
        self.free = [-_INF] * g.slots
        self.busy = -_INF
        self.held: str | None = None
        self.last_used = -_INF
        self.load_end = -_INF
        self.load_start = -_INF
        self.load_s = 0.0
        self.jobs: list[Placement] = []


def fifo_warm(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
) -> Plan:
    """FIFO keeping the last model warm on each GPU; evicts the least recently used idle GPU."""
    inv, tokens = _prepare(jobs, gpus, groups, default)
    state = [_WGpu(i, g) for i, g in enumerate(inv)]
    load: dict[str, float] = {}
    for j in jobs:
        load[j.group] = max(load.get(j.group, 0.0), j.load_s)
    epochs: list[Epoch] = []
    deferred: list[Deferred] = []
    counter = [0] * len(inv)

    def close(G: _WGpu) -> None:
        if G.held is not None and G.jobs:
            counter[G.i] += 1
            end = max(p.end_s for p in G.jobs)
            epochs.append(
                Epoch(
                    f"{inv[G.i].id}-w{counter[G.i]}", inv[G.i].id, G.held, G.load_start, G.load_s,
                    G.load_start + G.load_s, end, tuple(G.jobs),
                )
            )

    events: list[float] = []
    queue: list[Job] = []
    order: list[Job] = []
    for job in _submit_order(jobs):
        reason = gang_deferral(job, inv)
        if reason is not None:
            deferred.append(Deferred(job.id, reason))
        else:
            order.append(job)
    k = 0
    n = len(order)
    while k < n or queue:
        t = order[k].submit_s if k < n else _INF
        if queue and events and events[0] < t:
            t = events[0]  # a slot or a concurrency token frees: the queue may move
        if t == _INF:  # pragma: no cover - a waiting job always has a busy GPU to wait for
            raise AssertionError("fifo_warm: jobs wait but nothing will free")
        while events and events[0] <= t:
            heapq.heappop(events)
        while k < n and order[k].submit_s <= t:
            queue.append(order[k])
            k += 1
        waiting: list[Job] = []
        for job in queue:
            tk = tokens.get(job.group)
            if tk is not None and tk[0] > t:
                heapq.heappush(events, tk[0])
                waiting.append(job)
                continue
            placed = _warm_try(job, t, state, load)
            if placed is None:
                waiting.append(job)
                continue
            start, chosen = placed
            end = start + job.duration_s
            p = Placement(job.id, start, end)
            for G in chosen:
                if G.held != job.group:
                    close(G)
                    G.held = job.group
                    G.jobs = []
                    G.load_start = t
                    G.load_s = load[job.group]
                    G.load_end = t + G.load_s
                    G.free = [G.load_end] * len(G.free)
                heapq.heapreplace(G.free, end)
                G.busy = max(G.busy, end, G.load_end)
                G.last_used = start
                G.jobs.append(p)
            if tk is not None:
                heapq.heapreplace(tk, end)
            heapq.heappush(events, end)
        queue = waiting
    for G in state:
        close(G)
    epochs.sort(key=lambda e: (e.load_start_s, e.gpu, e.id))
    return Plan(gpus=inv, epochs=tuple(epochs), deferred=tuple(sorted(deferred, key=attrgetter("id"))))


def _warm_try(
    job: Job,
    t: float,
    state: list[_WGpu],
    load: Mapping[str, float],
) -> tuple[float, list[_WGpu]] | None:
    """Where the job can start at t: warm GPUs with a free slot first, then idle GPUs (LRU)."""
    warm: list[tuple[float, int, _WGpu]] = []
    idle: list[tuple[int, float, int, _WGpu]] = []
    for G in state:
        if job.gpu_type is not None and G.type != job.gpu_type:
            continue
        if G.held == job.group:
            s = G.free[0]
            if s <= max(t, G.load_end):
                warm.append((max(t, s), G.i, G))
                continue
        if G.busy <= t:
            idle.append((0 if G.held is None else 1, G.last_used, G.i, G))
    if len(warm) + len(idle) < job.gpus:
        return None
    warm.sort(key=lambda w: (w[0], w[1]))
    idle.sort(key=lambda w: (w[0], w[1], w[2]))
    chosen = [w[2] for w in warm[: job.gpus]]
    starts = [w[0] for w in warm[: job.gpus]]
    for w2 in idle[: job.gpus - len(chosen)]:
        chosen.append(w2[3])
        starts.append(t + load[job.group])
    return max(starts), chosen
