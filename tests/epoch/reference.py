"""Straightforward reference versions of what the fast code computes, for differential tests.

``fifo_warm``: FIFO keeping the last model warm, written as its definition reads: at every job
arrival and every slot (or concurrency token) release, try every waiting job in submit order.
Quadratic in the queue length; ``b00t_pulumi.epoch.fifo_warm`` must give the same plan.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from operator import attrgetter

from b00t_pulumi.epoch.baselines import _prepare, _warm_try, _WGpu
from b00t_pulumi.epoch.model import Deferred, Epoch, Gpu, GroupSettings, Job, Placement, Plan
from b00t_pulumi.epoch.state import submit_order as _submit_order
from b00t_pulumi.epoch.validate import gang_deferral

_INF = float("inf")


def fifo_warm(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
) -> Plan:
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
            t = events[0]
        assert t < _INF
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
            placed = _warm_try(job, t, state)
            if placed is None:
                waiting.append(job)
                continue
            start, chosen = placed
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
            if tk is not None:
                heapq.heapreplace(tk, end)
            heapq.heappush(events, end)
        queue = waiting
    for G in state:
        close(G)
    epochs.sort(key=lambda e: (e.load_start_s, e.gpu, e.id))
    return Plan(gpus=inv, epochs=tuple(epochs), deferred=tuple(sorted(deferred, key=attrgetter("id"))))
