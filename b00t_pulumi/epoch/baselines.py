"""The two schedulers a user would otherwise get, in the same output shape as ours.

* :func:`fifo_cold` - Kueue BestEffortFIFO with one pod per Job on time-sliced GPUs: every job
  is its own process that loads its model into its own slot, then runs. Any mix of models may
  share a GPU (time-slicing does not isolate them). One load per job (``job.load_on`` the GPU's
  type). Each job is its own epoch of one slot, so check these plans with
  ``check_plan(..., exclusive=False)``.
* :func:`fifo_warm` - FIFO that keeps the last model warm on each GPU (LRU): a job goes to a GPU
  that already holds its model (loaded at least as large as the job needs there) and has a free
  slot; else to an idle GPU, loading its model there (evicting the least recently used model);
  else it waits. Nothing is held back to batch. Waiting jobs are tried in submit order whenever a
  job arrives or a slot frees; a job that cannot start lets later ones pass.

Both are event-driven, place jobs in submit order (ties by id), honour ``max_concurrent_jobs``
and ignore budgets (Kueue has no money quota). A gang job that can never fit is deferred with the
same reason as in our scheduler.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Mapping, Sequence
from operator import attrgetter

from b00t_pulumi.epoch.model import Deferred, Epoch, Gpu, GroupSettings, Job, Placement, Plan
from b00t_pulumi.epoch.state import submit_order as _submit_order
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
        load = max(job.load_on(inv[i].gpu_type) for _, i in cands)
        tk = tokens.get(job.group)
        if tk is not None and tk[0] - load > ls:
            ls = tk[0] - load  # the pod waits for quota, then loads; its run counts
        start = ls + load
        end = start + job.duration_s
        if tk is not None:
            heapq.heapreplace(tk, end)
        for _, i in cands:
            heapq.heapreplace(free[i], end)
            own = job.load_on(inv[i].gpu_type)
            epochs.append(
                Epoch(
                    f"{inv[i].id}-c{len(epochs) + 1}", inv[i].id, job.group, ls, own, ls + own, end,
                    (Placement(job.id, start, end),),
                )
            )
    epochs.sort(key=lambda e: (e.load_start_s, e.gpu, e.id))
    return Plan(gpus=inv, epochs=tuple(epochs), deferred=tuple(sorted(deferred, key=attrgetter("id"))))


class _WGpu:
    __slots__ = ("busy", "free", "held", "i", "jobs", "last_used", "level", "load_end", "load_s", "load_start", "type")

    def __init__(self, i: int, g: Gpu) -> None:
        self.i = i
        self.type = g.gpu_type
        self.free = [-_INF] * g.slots
        self.busy = -_INF
        self.held: str | None = None
        self.level = 0.0
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
    """FIFO keeping the last model warm on each GPU; evicts the least recently used idle GPU.

    The result is that of trying every waiting job in submit order at every arrival and slot
    release (``tests/epoch/reference.py`` does exactly that; a property test compares them). Done
    here in two passes per instant so that a long queue is not rescanned: while an idle GPU is
    left, waiting jobs are tried in submit order; after that only warm slots remain, and each
    group's waiting jobs can only take its own model's slots, so only groups with a free slot are
    visited.
    """
    inv, tokens = _prepare(jobs, gpus, groups, default)
    state = [_WGpu(i, g) for i, g in enumerate(inv)]
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

    def place(job: Job, t: float, chosen: list[_WGpu], start: float) -> None:
        end = start + job.duration_s
        p = Placement(job.id, start, end)
        for G in chosen:
            need = job.load_on(G.type)
            if G.held != job.group or G.level < need:
                close(G)
                G.held = job.group
                G.jobs = []
                G.load_start = t
                G.load_s = need
                G.level = need
                G.load_end = t + need
                G.free = [G.load_end] * len(G.free)
            heapq.heapreplace(G.free, end)
            G.busy = max(G.busy, end, G.load_end)
            G.last_used = start
            G.jobs.append(p)
        tk = tokens.get(job.group)
        if tk is not None:
            heapq.heapreplace(tk, end)
        heapq.heappush(events, end)

    events: list[float] = []
    order: list[Job] = []
    for job in _submit_order(jobs):
        reason = gang_deferral(job, inv)
        if reason is not None:
            deferred.append(Deferred(job.id, reason))
        else:
            order.append(job)
    queue: list[Job | None] = []  # waiting jobs in submit order; None once placed
    head = 0  # queue[:head] are all placed
    waiting: dict[str, deque[int]] = {}  # group -> its queue positions, in order (placed ones pruned lazily)
    k = 0
    n = len(order)
    n_waiting = 0
    while k < n or n_waiting:
        t = order[k].submit_s if k < n else _INF
        if n_waiting and events and events[0] < t:
            t = events[0]  # a slot or a concurrency token frees: the queue may move
        if t == _INF:  # pragma: no cover - a waiting job always has a busy GPU to wait for
            raise AssertionError("fifo_warm: jobs wait but nothing will free")
        while events and events[0] <= t:
            heapq.heappop(events)
        while k < n and order[k].submit_s <= t:
            waiting.setdefault(order[k].group, deque()).append(len(queue))
            queue.append(order[k])
            n_waiting += 1
            k += 1
        # Pass 1: while a GPU is idle, every waiting job may take it; try them in submit order.
        idle = sum(1 for G in state if G.busy <= t)
        pos = head
        while idle and pos < len(queue):
            waiter = queue[pos]
            pos += 1
            if waiter is None:
                continue
            job = waiter
            tk = tokens.get(job.group)
            if tk is not None and tk[0] > t:
                heapq.heappush(events, tk[0])
                continue
            placed = _warm_try(job, t, state)
            if placed is None:
                continue
            start, chosen = placed
            idle -= sum(1 for G in chosen if G.busy <= t)
            place(job, t, chosen, start)
            queue[pos - 1] = None
            n_waiting -= 1
        stop = pos
        # Pass 2: the jobs pass 1 did not reach can only take warm slots of their own model.
        if stop < len(queue):
            open_groups = sorted(
                {G.held for G in state if G.held is not None and G.free[0] <= max(t, G.load_end)}
            )
            for name in open_groups:
                positions = waiting.get(name)
                if not positions:
                    continue
                tk = tokens.get(name)
                if tk is not None and tk[0] > t:
                    if any(p >= stop for p in positions):
                        heapq.heappush(events, tk[0])
                    continue
                for p in positions:
                    if p < stop:
                        continue
                    waiter = queue[p]
                    if waiter is None:
                        continue
                    job = waiter
                    if tk is not None and tk[0] > t:
                        heapq.heappush(events, tk[0])
                        break
                    placed = _warm_try(job, t, state)
                    if placed is None:
                        if job.gpus == 1 and not any(
                            G.held == name and G.free[0] <= max(t, G.load_end) for G in state
                        ):
                            break  # no free slot of this model is left
                        continue
                    start, chosen = placed
                    place(job, t, chosen, start)
                    queue[p] = None
                    n_waiting -= 1
        for positions in waiting.values():
            while positions and queue[positions[0]] is None:
                positions.popleft()
        while head < len(queue) and queue[head] is None:
            head += 1
        if head > 4096 and head * 2 > len(queue):
            # Compact the queue: drop the placed prefix and renumber.
            queue = queue[head:]
            waiting = {name: deque(p - head for p in ps) for name, ps in waiting.items() if ps}
            head = 0
    for G in state:
        close(G)
    epochs.sort(key=lambda e: (e.load_start_s, e.gpu, e.id))
    return Plan(gpus=inv, epochs=tuple(epochs), deferred=tuple(sorted(deferred, key=attrgetter("id"))))


def _warm_try(job: Job, t: float, state: list[_WGpu]) -> tuple[float, list[_WGpu]] | None:
    """Where the job can start at t: warm GPUs with a free slot first, then idle GPUs (LRU)."""
    warm: list[tuple[float, int, _WGpu]] = []
    idle: list[tuple[int, float, int, _WGpu]] = []
    for G in state:
        if job.gpu_type is not None and G.type != job.gpu_type:
            continue
        if G.held == job.group and G.level >= job.load_on(G.type):
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
        starts.append(t + job.load_on(w2[3].type))
    return max(starts), chosen
