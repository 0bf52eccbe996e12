"""Re-planning: what of a previous plan stays fixed when the scheduler plans again at ``now``.

Epochs whose load started before ``now`` are kept as they are (id, GPU, times and jobs), plus what
they need to stay valid: the other epochs of their gang jobs and the earlier epochs of the same GPU.
The last kept epoch of each GPU stays open: new jobs of its group may join it with no load.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

from b00t_pulumi.epoch.model import DAY_S, Epoch, Job, Plan
from b00t_pulumi.epoch.state import INF, GpuState, GroupState, OpenEpoch


def freeze(
    previous: Plan,
    now: float,
    gpus: Sequence[GpuState],
    groups: Mapping[str, GroupState],
    jobs: Sequence[Job],
    spend: dict[int, Decimal],
) -> tuple[list[OpenEpoch], set[str]]:
    """Load the kept epochs of ``previous`` into the GPU and group state.

    Returns the kept epochs that are closed and the ids of the jobs they hold. GPUs get their
    model, load level, slot times and open epoch; groups their concurrency tokens; ``spend`` the
    cost of the kept jobs per day.
    """
    by_id = {G.id: G for G in gpus}
    kept = frozen_epochs(previous, now, set(by_id))
    closed: list[OpenEpoch] = []
    frozen_ids: set[str] = set()
    per_gpu: dict[str, list[Epoch]] = {}
    for e in kept:
        per_gpu.setdefault(e.gpu, []).append(e)
    for gid, eps in per_gpu.items():
        G = by_id[gid]
        eps.sort(key=lambda e: (e.load_start_s, e.id))
        level = 0.0
        for k, e in enumerate(eps):
            g = groups[e.group]
            b = OpenEpoch(G, g, e.load_start_s, e.load_s)
            b.id = e.id
            b.frozen = e
            b.jobs = list(e.jobs)
            b.n_frozen = len(e.jobs)
            b.end = e.end_s
            frozen_ids.update(p.id for p in e.jobs)
            same = k > 0 and eps[k - 1].group == e.group
            level = max(e.load_s, level) if same else e.load_s
            if k < len(eps) - 1:
                closed.append(b)
                continue
            # The last kept epoch of this GPU stays open. Its jobs hold their slots until they end
            # (counted from now on, conservatively).
            n = g.slots_on(G)
            slots = [max(now, e.start_s)] * n
            last = max(now, e.start_s)
            for p in sorted(e.jobs, key=lambda p: (p.start_s, p.id)):
                if p.end_s <= now:
                    continue
                i = min(range(n), key=slots.__getitem__)
                slots[i] = max(slots[i], p.end_s)
                last = max(last, p.start_s)
            heapq.heapify(slots)
            G.free = slots
            G.busy = max(slots)
            G.last_start = last
            G.held = g
            G.level = level
            G.epoch = b
            g.gpus.append(G)
            if level < g.load.get(G.type, 0.0):
                g.mixed = True  # loaded smaller than some job of the group needs: check levels
    # Running and planned kept jobs keep their group's concurrency tokens and their day's spend.
    by_job = {j.id: j for j in jobs}
    seen: set[str] = set()
    for e in kept:
        g = groups[e.group]
        for p in e.jobs:
            if p.id in seen:
                continue
            seen.add(p.id)
            if g.tokens is not None and p.end_s > now:
                i = min(range(len(g.tokens)), key=g.tokens.__getitem__)
                g.tokens[i] = max(g.tokens[i], p.end_s)
            j = by_job.get(p.id)
            if j is not None and j.cost is not None:
                day = math.floor(p.start_s / DAY_S)
                spend[day] = spend.get(day, Decimal(0)) + j.cost
    for g in groups.values():
        if g.tokens is not None:
            heapq.heapify(g.tokens)
    return closed, frozen_ids


def frozen_epochs(previous: Plan, now: float, gpu_ids: set[str]) -> list[Epoch]:
    """Epochs of ``previous`` that a re-plan at ``now`` keeps: those whose load started, plus what
    they need to stay valid: the other epochs of their gang jobs and the earlier epochs of a GPU.
    Epochs on GPUs no longer in the inventory are dropped (their jobs are planned again)."""
    eps = [e for e in previous.epochs if e.gpu in gpu_ids]
    keep = {i for i, e in enumerate(eps) if e.load_start_s < now}
    gangs: dict[str, list[int]] = {}
    for i, e in enumerate(eps):
        for p in e.jobs:
            gangs.setdefault(p.id, []).append(i)
    gangs = {jid: ks for jid, ks in gangs.items() if len(ks) > 1}
    while True:
        more = {k for i in keep for p in eps[i].jobs for k in gangs.get(p.id, ())}
        last: dict[str, float] = {}
        for i in keep | more:
            last[eps[i].gpu] = max(last.get(eps[i].gpu, -INF), eps[i].load_start_s)
        more |= {k for k, e in enumerate(eps) if e.load_start_s <= last.get(e.gpu, -INF)}
        if more <= keep:
            return [eps[i] for i in sorted(keep)]
        keep |= more
