"""The GPU epoch scheduler: load a model once, run every job of its group that comes in the window.

The algorithm is an online list scheduler with hold-to-batch and warm affinity (see
docs/scheduler.md). It walks through the jobs in submit order and never looks at a job before its
submit time, so the plan it makes from a whole trace is the plan a controller re-planning at every
arrival would make. For each job, in order:

1. Warm: if a GPU already holds the job's model and one of its slots frees early enough (by the
   job's deadline = submit + batch window), the job takes that slot. No load.
2. Empty GPU: if a GPU has never held a model, load there at once (nothing is evicted).
3. Hold: otherwise the job joins its group's batch. The batch is launched when its oldest job can
   wait no longer (deadline - load time) or as soon as it would fill a GPU. Jobs of the group that
   arrive meanwhile join the batch, so one load serves all of them.
4. Launch: each batched job takes a warm slot if one is ready by its deadline (or sooner than a new
   load would be); else the model is loaded on the GPU that costs least to take over: among GPUs
   ready by the deadline, a GPU that never held a model, then the one whose model is least likely
   to be needed soon (arrival rate x load time / copies, a decaying per-group rate), then the
   lowest id; if none is ready by the deadline, the one ready first.

A group larger than a GPU spills onto more GPUs (step 4 opens a second epoch), a gang job
(``gpus`` > 1) takes one slot on each of several GPUs at a common start, ``max_concurrent_jobs``
caps a group's running jobs, and an optional daily limit defers jobs whose cost would push their
day's spend past it. Ties are broken by id, so the plan is a function of the input set alone.

Re-planning: pass the previous plan and ``now``. Epochs whose load started before ``now`` are kept
as they are (id, GPU, times and jobs); new jobs of the same group may be appended to the last one
on a GPU (its start does not move). Everything else is planned again, starting no earlier than
``now``.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import attrgetter

from b00t_pulumi.epoch.model import DAY_S, Deferred, Epoch, Gpu, GroupSettings, Job, Placement, Plan
from b00t_pulumi.epoch.validate import check_inputs, gang_deferral
from b00t_pulumi.errors import Problem, ScheduleError

_INF = float("inf")
# A group's arrival rate decays with this time constant, in batch windows (4 x 15 min = 1 h).
RATE_WINDOWS = 4.0
# A held batch launches at HOLD x window - load after its oldest submit: the last 10 % of the
# window is slack for a GPU to become free (the bench shows 1.0 buys few loads and costs wait).
HOLD = 0.9
# When no GPU can be ready by a job's deadline, wait for one to become idle rather than drain a
# busy one, until the job has waited OVERDUE x window; then take the GPU that frees first.
OVERDUE = 1.5


class _Epoch:
    __slots__ = ("end", "frozen", "gpu", "group", "id", "jobs", "load_s", "load_start", "n_frozen")

    def __init__(self, gpu: _Gpu, group: _Group, load_start: float, load_s: float) -> None:
        self.gpu = gpu
        self.group = group
        self.load_start = load_start
        self.load_s = load_s
        self.jobs: list[Placement] = []
        self.end = load_start + load_s
        self.id = ""
        self.frozen: Epoch | None = None
        self.n_frozen = 0


class _Gpu:
    __slots__ = ("busy", "epoch", "free", "held", "i", "id", "slots", "type")

    def __init__(self, i: int, gpu: Gpu, now: float) -> None:
        self.i = i
        self.id = gpu.id
        self.type = gpu.gpu_type
        self.slots = gpu.slots
        self.free = [now] * gpu.slots  # a min-heap: when each slot is free again
        self.busy = now  # when every slot is free (the GPU may change model from then on)
        self.held: _Group | None = None
        self.epoch: _Epoch | None = None


class _Group:
    __slots__ = ("batch", "full", "gpus", "last", "load", "name", "rate", "seq", "tau", "tokens", "window")

    def __init__(self, name: str, settings: GroupSettings, load: float) -> None:
        self.name = name
        self.window = float(settings.batch_window_s)
        self.load = load
        self.gpus: list[_Gpu] = []  # GPUs holding this group's model, in the order they got it
        self.batch: list[Job] | None = None
        self.seq = 0  # identifies the live trigger of the batch in the heap
        self.full = 1
        m = settings.max_concurrent_jobs
        self.tokens: list[float] | None = None if m is None else [-_INF] * m
        self.rate = 0.0
        self.last = -_INF
        self.tau = max(RATE_WINDOWS * self.window, 60.0)


def schedule(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
    previous: Plan | None = None,
    now: float | None = None,
    daily_limit: Decimal | None = None,
) -> Plan:
    """Plan epochs for ``jobs`` on ``gpus``. Raises ScheduleError on invalid input.

    ``groups`` maps a group to its settings (others use ``default``, a 15-minute window and no
    cap). ``previous`` and ``now`` re-plan (see the module doc). ``daily_limit`` caps the summed
    ``cost`` of the jobs that start in each day window ``[k * 86400, (k + 1) * 86400)``.
    """
    return _Scheduler(jobs, gpus, groups or {}, default or GroupSettings(), previous, now, daily_limit).run()


class _Scheduler:
    def __init__(
        self,
        jobs: Sequence[Job],
        gpus: Sequence[Gpu],
        groups: Mapping[str, GroupSettings],
        default: GroupSettings,
        previous: Plan | None,
        now: float | None,
        daily_limit: Decimal | None,
    ) -> None:
        check_inputs(jobs, gpus, groups, default)
        if daily_limit is not None and not (daily_limit.is_finite() and daily_limit >= 0):
            raise ScheduleError([Problem("settings", "daily_limit", f"must be >= 0, got {daily_limit}")])
        if now is not None and not -_INF < now < _INF:
            raise ScheduleError([Problem("settings", "now", f"must be a finite time, got {now!r}")])
        self.jobs = jobs
        self.inventory = tuple(sorted(gpus, key=attrgetter("id")))
        self.now = -_INF if now is None else float(now)
        self.limit = daily_limit
        self.spend: dict[int, Decimal] = {}
        self.gpus = [_Gpu(i, g, self.now) for i, g in enumerate(self.inventory)]
        self.by_type: dict[str | None, list[_Gpu]] = {None: self.gpus}
        for G in self.gpus:
            self.by_type.setdefault(G.type, []).append(G)
        self.empty: list[_Gpu] = list(self.gpus)
        self.closed: list[_Epoch] = []
        self.deferred: list[Deferred] = []
        self.heap: list[tuple[float, int, str]] = []
        self.seq = 0
        # The load time of a group is the longest its jobs give (they normally all agree).
        load: dict[str, float] = {}
        for j in jobs:
            if j.load_s > load.get(j.group, -1.0):
                load[j.group] = j.load_s
        if previous is not None:
            for e in previous.epochs:
                if e.group not in load or e.load_s > load[e.group]:
                    load[e.group] = max(e.load_s, load.get(e.group, 0.0))
        self.groups = {name: _Group(name, groups.get(name, default), s) for name, s in load.items()}
        max_slots = {t: max((G.slots for G in gs), default=1) for t, gs in self.by_type.items()}
        for g in self.groups.values():
            g.full = max_slots[None]
        self.max_slots = max_slots
        self.frozen_ids: set[str] = set()
        if previous is not None:
            self._freeze(previous)

    # ------------------------------------------------------------------ re-planning

    def _freeze(self, previous: Plan) -> None:
        """Keep the epochs of ``previous`` whose load started before now; rebuild GPU state."""
        by_id = {G.id: G for G in self.gpus}
        kept = _frozen_epochs(previous, self.now, set(by_id))
        per_gpu: dict[str, list[Epoch]] = {}
        for e in kept:
            per_gpu.setdefault(e.gpu, []).append(e)
        for gid, eps in per_gpu.items():
            G = by_id[gid]
            eps.sort(key=lambda e: (e.load_start_s, e.id))
            for k, e in enumerate(eps):
                g = self.groups[e.group]
                b = _Epoch(G, g, e.load_start_s, e.load_s)
                b.id = e.id
                b.frozen = e
                b.jobs = list(e.jobs)
                b.n_frozen = len(e.jobs)
                b.end = e.end_s
                self.frozen_ids.update(p.id for p in e.jobs)
                if k < len(eps) - 1:
                    self.closed.append(b)
                    continue
                # The last frozen epoch on this GPU is still open: new jobs of its group may join.
                # Its jobs hold their slots until they end (counted from now on, conservatively).
                slots = [max(self.now, e.start_s)] * G.slots
                for p in sorted(e.jobs, key=lambda p: (p.start_s, p.id)):
                    if p.end_s <= self.now:
                        continue
                    i = min(range(G.slots), key=slots.__getitem__)
                    slots[i] = max(slots[i], p.end_s)
                heapq.heapify(slots)
                G.free = slots
                G.busy = max(slots)
                G.held = g
                G.epoch = b
                g.gpus.append(G)
                if G in self.empty:
                    self.empty.remove(G)
        # Running and planned frozen jobs keep their group's concurrency tokens and day spend.
        cost = {j.id: j for j in self.jobs}
        seen: set[str] = set()
        for e in kept:
            g = self.groups[e.group]
            for p in e.jobs:
                if p.id in seen:
                    continue
                seen.add(p.id)
                if g.tokens is not None and p.end_s > self.now:
                    i = min(range(len(g.tokens)), key=g.tokens.__getitem__)
                    g.tokens[i] = max(g.tokens[i], p.end_s)
                j = cost.get(p.id)
                if j is not None and j.cost is not None:
                    day = math.floor(p.start_s / DAY_S)
                    self.spend[day] = self.spend.get(day, Decimal(0)) + j.cost
        for g in self.groups.values():
            if g.tokens is not None:
                heapq.heapify(g.tokens)

    # ------------------------------------------------------------------ main loop

    def run(self) -> Plan:
        now = self.now
        order = _submit_order([j for j in self.jobs if j.id not in self.frozen_ids] if self.frozen_ids else self.jobs)
        heap = self.heap
        groups = self.groups
        empty = self.empty
        exp = math.exp
        for job in order:
            t = job.submit_s if job.submit_s > now else now
            while heap and heap[0][0] <= t:
                self._pop_trigger()
            g = groups[job.group]
            # The group's arrival rate: an exponentially decaying count (used to pick evictions).
            g.rate = g.rate * exp((g.last - t) / g.tau) + 1.0 if g.last > -_INF else 1.0
            g.last = t
            if job.gpus > 1:
                reason = gang_deferral(job, self.inventory)
                if reason is not None:
                    self.deferred.append(Deferred(job.id, reason))
                    continue
            dl = job.submit_s + g.window
            if dl < t:
                dl = t
            jt = job.gpu_type
            if job.gpus == 1 and g.gpus:
                best: _Gpu | None = None
                bs = _INF
                for G in g.gpus:
                    if jt is None or G.type == jt:
                        s = G.free[0]
                        if s < bs:
                            bs = s
                            best = G
                if best is not None:
                    start = bs if bs > t else t
                    tokens = g.tokens
                    if tokens is not None and tokens[0] > start:
                        start = tokens[0]
                    if start <= dl:
                        self._commit(job, g, (best,), start, t)
                        continue
            if g.batch is not None:
                g.batch.append(job)
                if len(g.batch) >= g.full:
                    self._launch(g, t)
                continue
            if empty and sum(1 for G in empty if jt is None or G.type == jt) >= job.gpus:
                self._place(job, g, t, False)
                continue
            g.batch = [job]
            g.full = self.max_slots[jt] if jt is not None else self.max_slots[None]
            trigger = job.submit_s + HOLD * g.window - g.load
            self._push(g, trigger if trigger > t else t)
        while heap:
            self._pop_trigger()
        return self._finish()

    def _push(self, g: _Group, t: float) -> None:
        self.seq += 1
        g.seq = self.seq
        heapq.heappush(self.heap, (t, self.seq, g.name))

    def _pop_trigger(self) -> None:
        t, seq, name = heapq.heappop(self.heap)
        g = self.groups[name]
        if g.batch is not None and g.seq == seq:
            self._launch(g, t)

    def _launch(self, g: _Group, t: float) -> None:
        batch = g.batch or []
        g.batch = None
        rest: list[Job] = []
        retry = _INF
        for job in batch:
            if rest:
                rest.append(job)
                continue
            r = self._place(job, g, t, True)
            if r is not None:
                rest.append(job)
                retry = r
        if rest:
            g.batch = rest
            self._push(g, retry)

    # ------------------------------------------------------------------ placing one job

    def _victim_cost(self, G: _Gpu, t: float) -> float:
        """What taking this GPU over costs: the expected reloads of the model it holds."""
        h = G.held
        if h is None:
            return -1.0
        if h.batch is not None:
            return _INF
        rate = h.rate * math.exp((h.last - t) / h.tau)
        return rate * h.load / len(h.gpus)

    def _place(self, job: Job, g: _Group, t: float, may_wait: bool) -> float | None:
        """Place a job at time t; or, if ``may_wait`` and no GPU is ready by its deadline, return when
        to try again (the first time a GPU could be free), until the job is overdue."""
        jt = job.gpu_type
        dl = job.submit_s + g.window
        if dl < t:
            dl = t
        cands = self.by_type[jt]
        if job.gpus > 1:
            self._place_gang(job, g, t, cands)
            return None
        warm: _Gpu | None = None
        w = _INF
        for G in g.gpus:
            if jt is None or G.type == jt:
                s = G.free[0]
                if s < w:
                    w = s
                    warm = G
        if w < t:
            w = t
        new: _Gpu | None = None
        new_key: tuple[int, float, int] = (2, _INF, 0)
        new_ready = _INF
        load = g.load
        for G in cands:
            if G.held is g:
                continue
            ready = (G.busy if G.busy > t else t) + load
            key = (0, self._victim_cost(G, t), G.i) if ready <= dl else (1, ready, G.i)
            if key < new_key:
                new_key = key
                new = G
                new_ready = ready
        if warm is not None and (w <= dl or w <= new_ready):
            chosen, start = warm, w
        elif (
            may_wait and new is not None and new_key[0] == 1 and new_ready - load > t
            and t < job.submit_s + OVERDUE * g.window - load
        ):
            return new_ready - load if warm is None or w > new_ready - load else w
        elif new is not None:
            chosen, start = new, new_ready
        else:  # pragma: no cover - a compatible GPU always exists (validated)
            raise ScheduleError(f"job {job.id!r}: no GPU can run it")
        tokens = g.tokens
        if tokens is not None and tokens[0] > start:
            start = tokens[0]
        self._commit(job, g, (chosen,), start, t)
        return None

    def _place_gang(self, job: Job, g: _Group, t: float, cands: list[_Gpu]) -> None:
        ranked: list[tuple[float, int, float, int, _Gpu]] = []
        for G in cands:
            if G.held is g:
                s = G.free[0]
                ranked.append((s if s > t else t, 0, 0.0, G.i, G))
            else:
                ready = (G.busy if G.busy > t else t) + g.load
                ranked.append((ready, 1, self._victim_cost(G, t), G.i, G))
        ranked.sort()
        chosen = tuple(r[4] for r in ranked[: job.gpus])
        start = max(r[0] for r in ranked[: job.gpus])
        tokens = g.tokens
        if tokens is not None and tokens[0] > start:
            start = tokens[0]
        self._commit(job, g, chosen, start, t)

    def _commit(self, job: Job, g: _Group, chosen: Sequence[_Gpu], start: float, t: float) -> None:
        if self.limit is not None and job.cost is not None:
            day = math.floor(start / DAY_S)
            spent = self.spend.get(day, Decimal(0))
            if spent + job.cost > self.limit:
                self.deferred.append(
                    Deferred(
                        job.id,
                        f"budget: the day starting at {day * DAY_S:.0f} s has spent {spent} of its "
                        f"daily limit {self.limit}; this job costs {job.cost}. "
                        f"Next window starts at {(day + 1) * DAY_S:.0f} s",
                    )
                )
                return
            self.spend[day] = spent + job.cost
        end = start + job.duration_s
        p = Placement(job.id, start, end)
        for G in chosen:
            if G.held is not g:
                self._switch(G, g, t)
            heapq.heapreplace(G.free, end)
            if end > G.busy:
                G.busy = end
            e = G.epoch
            assert e is not None
            e.jobs.append(p)
            if end > e.end:
                e.end = end
        if g.tokens is not None:
            heapq.heapreplace(g.tokens, end)

    def _switch(self, G: _Gpu, g: _Group, t: float) -> None:
        """Give GPU G to group g: close its epoch, load g as soon as the GPU is idle."""
        old = G.held
        if old is not None:
            old.gpus.remove(G)
        elif G in self.empty:
            self.empty.remove(G)
        if G.epoch is not None:
            self.closed.append(G.epoch)
        ls = G.busy if G.busy > t else t
        e = _Epoch(G, g, ls, g.load)
        G.epoch = e
        G.held = g
        ready = ls + g.load
        G.free = [ready] * G.slots
        G.busy = ready
        g.gpus.append(G)

    # ------------------------------------------------------------------ output

    def _finish(self) -> Plan:
        eps = self.closed + [G.epoch for G in self.gpus if G.epoch is not None]
        used = {b.id for b in eps if b.frozen is not None}
        counter: dict[str, int] = {}
        for b in eps:
            if b.frozen is not None:
                counter[b.gpu.id] = counter.get(b.gpu.id, 0) + 1
        eps.sort(key=lambda b: (b.load_start, b.gpu.i))
        out: list[Epoch] = []
        for b in eps:
            if b.frozen is not None:
                if len(b.jobs) == b.n_frozen:
                    out.append(b.frozen)
                    continue
                out.append(
                    Epoch(
                        b.id, b.gpu.id, b.group.name, b.load_start, b.load_s, b.frozen.start_s,
                        max(b.end, b.frozen.end_s), tuple(b.jobs),
                    )
                )
                continue
            if not b.jobs:  # pragma: no cover - a switch is always followed by a job
                continue
            n = counter.get(b.gpu.id, 0)
            while True:
                n += 1
                eid = f"{b.gpu.id}-e{n}"
                if eid not in used:
                    break
            counter[b.gpu.id] = n
            used.add(eid)
            out.append(
                Epoch(
                    eid, b.gpu.id, b.group.name, b.load_start, b.load_s, b.load_start + b.load_s, b.end,
                    tuple(b.jobs),
                )
            )
        deferred = tuple(sorted(self.deferred, key=attrgetter("id")))
        return Plan(gpus=self.inventory, epochs=tuple(out), deferred=deferred)


def _frozen_epochs(previous: Plan, now: float, gpu_ids: set[str]) -> list[Epoch]:
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
            last[eps[i].gpu] = max(last.get(eps[i].gpu, -_INF), eps[i].load_start_s)
        more |= {k for k, e in enumerate(eps) if e.load_start_s <= last.get(e.gpu, -_INF)}
        if more <= keep:
            return [eps[i] for i in sorted(keep)]
        keep |= more


def _submit_order(jobs: Sequence[Job]) -> list[Job]:
    """Jobs by submit time, ties by id: the same order whatever order the caller gave."""
    order = sorted(jobs, key=attrgetter("submit_s"))
    n = len(order)
    i = 0
    while i < n - 1:
        if order[i].submit_s != order[i + 1].submit_s:
            i += 1
            continue
        k = i + 1
        s = order[i].submit_s
        while k < n and order[k].submit_s == s:
            k += 1
        order[i:k] = sorted(order[i:k], key=attrgetter("id"))
        i = k
    return order
