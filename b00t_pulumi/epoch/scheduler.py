"""The GPU epoch scheduler: load a model once, run every job of its group that comes in the window.

An online, event-driven list scheduler (docs/scheduler.md gives the reasons and the numbers). It
walks through the jobs in submit order and never looks at a job before its submit time, so the
plan it makes from a whole trace is the plan a controller re-planning at every arrival would make.
Known durations let it plan each job to a slot as soon as it knows where the job goes.

For each job, in order:

1. Warm: if a GPU holds the job's model (loaded at least as large as the job needs on that GPU
   type) and one of its slots frees by the job's deadline (submit + batch window), the job takes
   the slot that frees first. No load. Jobs of a group queue on its GPUs in submit order: a loaded
   model's queue is served to exhaustion.
2. Cold: otherwise the job joins its group's queue. A new queue is a held batch: it launches at
   once when a GPU that never held a model is free, when queues already wait for GPUs (it would
   wait in line anyway) or when it would fill a GPU; else when its oldest job can wait no longer,
   ``HOLD`` x window - load after its submit. Jobs of the group that arrive meanwhile join it, so
   one load serves all of them. It also launches at once if an idle GPU holds a model that is
   unlikely to be asked for during the hold (``EAGER``): holding would keep it for nothing.
3. Launch: each queued job, oldest first, takes a warm slot that frees by its deadline (or soon,
   once it is overdue); else its model is loaded on the GPU that is cheapest to take over: a GPU
   that never held a model, else the one whose model is least likely to be needed soon
   (GreedyDual-Size style, ``victim_value``). Only a GPU whose model has no queued work is taken
   (never strand a backlog), and only an idle one, or, while no queue waits anywhere, one that goes
   idle in time for the deadline. A queue that finds none waits; a GPU that goes idle is offered to
   the waiting queues, the one that has waited longest first (as FIFO would).
4. Fairness: while queues wait, every ``FAIR_EVERY`` windows the queue that has waited longest may
   take a GPU from a model that holds two or more and whose own queue is far younger; that GPU
   takes no more jobs of its model and is offered to the waiting queues once idle.

A gang job (``gpus`` > 1) takes one slot on each of several GPUs at a common start;
``max_concurrent_jobs`` caps a group's running jobs; an optional daily limit defers jobs whose cost
would push their day's spend past it. Ties are broken by id, so the plan is a function of the input
set alone.

Load times: a job's load is ``job.load_on(gpu_type)``. A new epoch loads for the largest load of
the queued jobs it is launched for; a later job joins a GPU's model only if that load covers its own.

Re-planning: pass the previous plan and ``now`` (see :mod:`b00t_pulumi.epoch.replan`). Epochs whose
load started before ``now`` are kept as they are; new jobs of the same group may join the last one
on a GPU. Everything else is planned again, starting no earlier than ``now``.
"""

from __future__ import annotations

import gc
import heapq
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import attrgetter

from b00t_pulumi.epoch.model import DAY_S, Deferred, Epoch, Gpu, GroupSettings, Job, Placement, Plan
from b00t_pulumi.epoch.replan import freeze
from b00t_pulumi.epoch.state import (
    INF,
    GpuState,
    GroupState,
    OpenEpoch,
    can_serve,
    head_key,
    queue_level,
    submit_order,
)
from b00t_pulumi.epoch.validate import check_inputs, gang_deferral
from b00t_pulumi.errors import Problem, ScheduleError

# A group's arrival rate decays with this time constant, in batch windows (16 x 15 min = 4 h).
RATE_WINDOWS = 16.0
# A held batch launches at HOLD x window - load after its oldest submit; the rest of the window is
# slack for a GPU to become free.
HOLD = 0.95
# An overdue job is committed to a slot of its model that frees within SOON x window; for a later
# one it waits in its group's queue (a GPU may free sooner elsewhere).
SOON = 0.1
# What evicting a model is expected to cost: the chance it is needed again (x / (1 + x), x = its
# arrivals per window) x (its load seconds + VALUE_K), shared among the GPUs that hold it.
VALUE_K = 15.0
# A new held batch launches at once onto an idle GPU whose model is asked for during the hold (but
# at least EAGER_HORIZON_S ahead) with a chance of at most EAGER, divided by the copies of that
# model: holding would keep a model that is probably not needed, so it buys nothing and only adds
# wait (sparse traffic). Without the floor, short windows launch early and load 12-15 % more.
EAGER = 0.2
EAGER_HORIZON_S = 900.0
# Fairness under backlog (see the module doc): looked at every FAIR_EVERY windows; the oldest
# waiting queue (age A) takes a GPU from the model whose queue is youngest (age a) when
# A > FAIR_RATIO x a + FAIR_GAP windows.
FAIR_EVERY = 1.0
FAIR_RATIO = 2.0
FAIR_GAP = 8.0

# Event kinds in the heap: a group's trigger, a GPU going idle, the fairness look.
_TRIGGER, _IDLE, _FAIR = 0, 1, 2


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
    # Planning allocates a few objects per job and frees none: the cyclic garbage collector would
    # only rescan them (a third of the time for a million jobs). It runs again afterwards.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Scheduler(jobs, gpus, groups or {}, default or GroupSettings(), previous, now, daily_limit).run()
    finally:
        if collecting:
            gc.enable()


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
        # Sort first: the checks then read the jobs in submit order, which is usually the order
        # they were made in (and so in memory): several times faster than in any other order.
        try:
            self.order = submit_order(jobs)
        except TypeError:  # a submit time that is not a number: the check says which
            self.order = list(jobs)
        columns = check_inputs(self.order, gpus, groups, default)
        if daily_limit is not None and not (daily_limit.is_finite() and daily_limit >= 0):
            raise ScheduleError([Problem("settings", "daily_limit", f"must be >= 0, got {daily_limit}")])
        if now is not None and not -INF < now < INF:
            raise ScheduleError([Problem("settings", "now", f"must be a finite time, got {now!r}")])
        self.jobs = jobs
        self.inventory = tuple(sorted(gpus, key=attrgetter("id")))
        self.now = -INF if now is None else float(now)
        self.limit = daily_limit
        self.spend: dict[int, Decimal] = {}
        self.gpus = [GpuState(i, g, self.now) for i, g in enumerate(self.inventory)]
        self.by_type: dict[str | None, list[GpuState]] = {None: self.gpus}
        for G in self.gpus:
            self.by_type.setdefault(G.type, []).append(G)
        self.types = sorted(t for t in self.by_type if t is not None)
        self.max_slots = {t: max(G.slots for G in gs) for t, gs in self.by_type.items() if gs}
        self.deferred: list[Deferred] = []
        self.heap: list[tuple[float, int, int, GroupState | GpuState | None]] = []
        self.seq = 0
        self.waiters: set[GroupState] = set()  # groups whose queue waits for a GPU
        self.fair_at = INF  # when the next fairness look is due
        self.groups: dict[str, GroupState] = {}
        self.present: set[str] = set()  # groups that have jobs in this call
        self._group_loads(self.order, columns.groups, columns.loads, groups, default)
        self.closed: list[OpenEpoch] = []
        self.frozen_ids: set[str] = set()
        if previous is not None:
            for e in previous.epochs:  # a kept epoch of a group that has no job now: its load from the plan
                if e.group in self.present:
                    continue
                g = self.groups.get(e.group)
                if g is None:
                    g = self.groups[e.group] = GroupState(e.group, groups.get(e.group, default), RATE_WINDOWS)
                    g.load = dict.fromkeys(self.types, 0.0)
                    g.full = self._full(g, None)
                for t in self.types:
                    g.load[t] = max(g.load[t], e.load_s)
            self.closed, self.frozen_ids = freeze(previous, self.now, self.gpus, self.groups, jobs, self.spend)
        for g in self.groups.values():
            g.min_load = min(g.load.values(), default=0.0)
        self.empty = [G for G in self.gpus if G.held is None]  # GPUs that never held a model

    def _full(self, g: GroupState, gpu_type: str | None) -> int:
        """How many queued jobs fill a GPU of ``gpu_type`` (any: None) for group g."""
        full = self.max_slots[gpu_type]
        return full if g.per_gpu is None else min(full, g.per_gpu)

    def _group_loads(
        self,
        jobs: Sequence[Job],
        names: list[str],
        loads: list[float],
        groups: Mapping[str, GroupSettings],
        default: GroupSettings,
    ) -> None:
        """Per group and GPU type, the largest load its jobs give; whether they all agree."""
        first: dict[str, float] = dict(zip(reversed(names), reversed(loads), strict=True))  # each group's first load
        varied: set[str] = set()
        if list(map(first.__getitem__, names)) != loads:
            varied.update(n for n, s in zip(names, loads, strict=True) if first[n] != s)
        if any(map(attrgetter("load_by_type"), jobs)):
            varied.update(j.group for j in jobs if j.load_by_type)
        self.present = set(first)
        for name, s in first.items():
            g = self.groups[name] = GroupState(name, groups.get(name, default), RATE_WINDOWS)
            g.load = {t: s for t in self.types}
            g.full = self._full(g, None)
        if not varied:
            return
        members: dict[str, list[Job]] = {name: [] for name in varied}
        for j in jobs:
            if j.group in members:
                members[j.group].append(j)
        for name, js in members.items():
            g = self.groups[name]
            g.load = {t: max(j.load_on(t) for j in js) for t in self.types}
            # Mixed when some job of the group loads less than the group's largest on some type.
            g.mixed = any(j.load_on(t) != g.load[t] for j in js for t in self.types)

    # ------------------------------------------------------------------ main loop

    def run(self) -> Plan:
        now = self.now
        order = [j for j in self.order if j.id not in self.frozen_ids] if self.frozen_ids else self.order
        heap = self.heap
        groups = self.groups
        exp = math.exp
        heapreplace = heapq.heapreplace
        new_placement = tuple.__new__
        budget = self.limit is not None
        self.t0 = order[0].submit_s if order else 0.0  # arrival counts start here
        for job in order:
            submit = job.submit_s
            t = submit if submit > now else now
            while heap and heap[0][0] <= t:
                self._pop_event()
            g = groups[job.group]
            g.rate = g.rate * exp((g.last - t) / g.tau) + 1.0
            g.last = t
            n_gpus = job.gpus
            if n_gpus > 1:
                reason = gang_deferral(job, self.inventory)
                if reason is not None:
                    self.deferred.append(Deferred(job.id, reason))
                    continue
            jt = job.gpu_type
            queue = g.queue
            if n_gpus == 1 and g.gpus and not queue:
                # 1. Warm: the slot of its model that frees first, if by the deadline.
                best: GpuState | None = None
                bs = INF
                mixed = g.mixed
                for G in g.gpus:
                    if (jt is None or G.type == jt) and not G.drain and (not mixed or job.load_on(G.type) <= G.level):
                        s = G.free[0]
                        if s < bs:
                            bs = s
                            best = G
                if best is not None:
                    start = bs if bs > t else t
                    tokens = g.tokens
                    if tokens is not None and tokens[0] > start:
                        start = tokens[0]
                    if start <= submit + g.window or start <= t:
                        if budget and job.cost is not None:
                            self._warm(job, g, best, start, t)
                            continue
                        # The body of _warm, inline: this is most jobs.
                        end = start + job.duration_s
                        heapreplace(best.free, end)
                        if end > best.busy:
                            best.busy = end
                            if self.waiters:
                                self._push_idle(best, t)
                        if start > best.last_start:
                            best.last_start = start
                        e = best.epoch
                        assert e is not None
                        e.jobs.append(new_placement(Placement, (job.id, start, end)))
                        if end > e.end:
                            e.end = end
                        if tokens is not None:
                            heapreplace(tokens, end)
                        continue
            # 2. Cold: join the group's queue; a new queue is a held batch.
            queue.append(job)
            if len(queue) > 1:
                if g.seq > 0 and g not in self.waiters and len(queue) >= g.full:
                    self._launch(g, t)  # a held batch that would fill a GPU goes now
                continue
            g.full = self._full(g, jt)
            trigger = submit + HOLD * g.window - (g.load[jt] if jt is not None else g.min_load)
            # Under a backlog a new batch queues at once: it will wait in line anyway, and gathers
            # its group's later jobs meanwhile as a held batch would.
            if (
                trigger <= t or self.waiters
                or (self.empty and sum(1 for G in self.empty if jt is None or G.type == jt) >= n_gpus)
                or (n_gpus == 1 and self._unwanted_idle(g, jt, t, trigger - t))
            ):
                self._launch(g, t)
            else:
                self._push(g, trigger)
        while heap:
            self._pop_event()
        return self._finish()

    # ------------------------------------------------------------------ events

    def _push(self, g: GroupState, t: float) -> None:
        """(Re)arm the group's one live trigger: its held batch launches, or its queue looks again."""
        self.seq += 1
        g.seq = self.seq
        g.due = t
        heapq.heappush(self.heap, (t, self.seq, _TRIGGER, g))

    def _push_idle(self, G: GpuState, t: float) -> None:
        """Look at GPU G when it goes idle (once per time): a waiting queue may take it then."""
        at = G.busy if G.busy > t else t
        if G.idle_at != at:
            G.idle_at = at
            self.seq += 1
            heapq.heappush(self.heap, (at, self.seq, _IDLE, G))

    def _pop_event(self) -> None:
        t, seq, kind, obj = heapq.heappop(self.heap)
        if kind == _TRIGGER:
            assert isinstance(obj, GroupState)
            if obj.queue and obj.seq == seq:
                self._launch(obj, t)
        elif kind == _IDLE:
            assert isinstance(obj, GpuState)
            if obj.idle_at == t:
                obj.idle_at = -INF
                self._offer(obj, t)
        else:
            self.fair_at = INF
            if not self._fairness(t) and self.waiters and len(self.heap) == 1:  # pragma: no cover - a bug
                # only the next fairness look is left, and it has no GPU to move: nothing would ever
                # wake the waiting queues (the loop would run forever)
                raise AssertionError(f"epoch scheduler: queues {sorted(w.name for w in self.waiters)} wait at "
                                     f"{t} with no GPU event to wake them")

    def _offer(self, G: GpuState, t: float) -> None:
        """GPU G is idle at t: the waiting queues may take it, the one that has waited longest first."""
        if G.busy > t or not self.waiters:
            return
        h = G.held
        if h is not None and h.queue and can_serve(h, h.queue[0], G):
            return  # its own model's queue will use it
        for w in sorted(self.waiters, key=head_key):
            if w.queue and (w.queue[0].gpu_type is None or w.queue[0].gpu_type == G.type):
                self._launch(w, t)
                if G.busy > t:
                    return
        if G.drain and G.held is h:
            G.drain = False  # nobody took it: its model may use it again
            if h is not None and h.queue and h.seq < 0:
                self._push(h, t)

    def _fairness(self, t: float) -> bool:
        """Under backlog, let the queue that has waited longest take a GPU from the model whose own
        queue is youngest when the gap is large (see the module doc). Whether it had a GPU to take."""
        if not self.waiters:
            return False
        g = min(self.waiters, key=head_key)
        head = g.queue[0]
        best: GpuState | None = None
        best_key = (INF, 0, 0)
        for G in self.by_type[head.gpu_type]:
            h = G.held
            if h is None or h is g or G.drain or len(h.gpus) < 2:
                continue
            key = (t - h.queue[0].submit_s if h.queue else 0.0, -len(h.gpus), G.i)
            if key < best_key:
                best_key = key
                best = G
        if best is not None and t - head.submit_s > FAIR_RATIO * best_key[0] + FAIR_GAP * g.window:
            best.drain = True
            self._push_idle(best, t)
        self._arm_fairness(t, g.window)
        return best is not None

    def _arm_fairness(self, t: float, window: float) -> None:
        if FAIR_EVERY > 0 and self.fair_at == INF:
            self.fair_at = t + FAIR_EVERY * max(window, 60.0)
            self.seq += 1
            heapq.heappush(self.heap, (self.fair_at, self.seq, _FAIR, None))

    def _launch(self, g: GroupState, t: float) -> None:
        """Place the group's queued jobs in submit order, until one has to wait."""
        g.visit = t
        g.seq = -1
        g.due = INF
        queue = g.queue
        retry = INF
        while queue:
            r = self._place(queue[0], g, t)
            if r is not None:
                retry = r
                break
            queue.popleft()
        if queue:
            if not retry > t:  # pragma: no cover - every wait ends at a later time
                raise AssertionError(f"group {g.name}: retry at {retry} <= {t}")
            if retry < INF:
                self._push(g, retry)
            head_type = queue[0].gpu_type
            if g not in self.waiters or g.wait_type != head_type:
                # idle GPUs of the head job's type are offered to waiting queues; a new head of
                # another type (a group may mix types) needs its GPUs to wake the queue too
                self.waiters.add(g)
                g.wait_type = head_type
                for G in self.by_type[head_type]:
                    self._push_idle(G, t)
                self._arm_fairness(t, g.window)
        else:
            self.waiters.discard(g)
            if self.waiters:
                for G in g.gpus:  # its queue is empty: its GPUs may be taken once idle
                    self._push_idle(G, t)

    # ------------------------------------------------------------------ placing one job

    def _unwanted_idle(self, g: GroupState, jt: str | None, t: float, hold: float) -> bool:
        """Whether an idle GPU that g could take holds a model unlikely to be asked for in the
        next ``hold`` seconds (at least ``EAGER_HORIZON_S``): chance of an arrival / its copies
        <= ``EAGER``. Taking it now costs about nothing, so g's new batch need not be held
        (rent-or-buy: there is nothing to buy)."""
        for G in self.by_type[jt]:
            if G.busy > t:
                continue
            h = G.held
            if h is None:
                return True
            if h is g or (h.queue and can_serve(h, h.queue[0], G)):
                continue
            x = h.expected_arrivals(t, max(hold, EAGER_HORIZON_S), self.t0)
            if (1.0 - math.exp(-x)) / len(h.gpus) <= EAGER:
                return True
        return False

    def victim_value(self, G: GpuState, t: float) -> float:
        """Load seconds that taking GPU G over is expected to cost (-1: it never held a model).

        The model it holds is needed again with a chance that grows with its arrivals per window
        x (one batch serves a window of them): x / (1 + x). Then it costs a load (its seconds on
        this GPU type, plus ``VALUE_K`` for the load itself), unless another GPU holds it too.
        """
        h = G.held
        if h is None:
            return -1.0
        x = h.arrivals_per_window(t)
        return x / (1.0 + x) * (h.load[G.type] + VALUE_K) / len(h.gpus)

    def _place(self, job: Job, g: GroupState, t: float) -> float | None:
        """Place the oldest queued job of g at time t, or return when g's queue should look again
        (inf: when a GPU goes idle). A job is planned only to start by its deadline, or soon when
        it is overdue; one that has to wait longer stays in the queue and may still go wherever a
        slot frees first."""
        jt = job.gpu_type
        dl = job.submit_s + g.window
        if job.gpus > 1:
            self._place_gang(job, g, t)
            return None
        mixed = g.mixed
        warm: GpuState | None = None
        w = INF
        for G in g.gpus:
            if (jt is None or G.type == jt) and not G.drain and (not mixed or job.load_on(G.type) <= G.level):
                s = G.free[0]
                if s < w:
                    w = s
                    warm = G
        if w < t:
            w = t
        tokens = g.tokens
        if warm is not None and (w <= dl or w <= t + SOON * g.window):
            self._warm(job, g, warm, tokens[0] if tokens is not None and tokens[0] > w else w, t)
            return None
        # A GPU to take over. Without a backlog anywhere, one that goes idle in time for the
        # deadline may be taken too (its model serves no more jobs meanwhile): a cheap victim
        # soon rather than a dear one now.
        drain = not self.waiters
        victim = self.victim_value
        new: GpuState | None = None
        key = (INF, INF)
        for G in self.by_type[jt]:
            busy = G.busy
            if busy > t and not (drain and G.last_start <= t and busy + g.load[G.type] <= dl):
                continue
            h = G.held
            if h is None:
                value = -1.0
            elif h is g:
                if G.drain or not mixed or job.load_on(G.type) <= G.level:
                    continue
                value = 0.0
            elif h.queue and can_serve(h, h.queue[0], G):
                continue  # never take a model that has queued work
            else:
                value = victim(G, t)
            c = (value, busy if busy > t else t)
            if c < key:
                key = c
                new = G
        if new is None:
            return w  # a slot of its own model frees then; or inf: wait for a GPU to go idle
        level = queue_level(g.queue, new.type) if mixed else g.load[new.type]
        start = (new.busy if new.busy > t else t) + level
        if warm is not None and w <= start:
            return w  # its own model frees a slot before a load would end
        if self.waiters and self._older_first(g, job, new, t):
            return self._place(job, g, t)  # look again at what they left
        if tokens is not None and tokens[0] > start:
            start = tokens[0]
        self._commit(job, g, (new,), start, t, level)
        return None

    def _older_first(self, g: GroupState, job: Job, G: GpuState, t: float) -> bool:
        """A GPU goes to the queue that has waited longest: let older waiting queues that could
        use G look first (each once per instant). True if any did."""
        key = (job.submit_s, job.id)
        older = [
            h for h in self.waiters
            if h is not g and h.visit != t and h.queue and head_key(h) < key
            and (h.queue[0].gpu_type is None or h.queue[0].gpu_type == G.type)
        ]
        for h in sorted(older, key=head_key):
            if h.visit != t and h.queue:
                self._launch(h, t)
        return bool(older)

    def _place_gang(self, job: Job, g: GroupState, t: float) -> None:
        """A gang job does not wait in its queue: it takes the GPUs that can start it earliest,
        warm ones or ones free of queued work first, and starts when the last of them is ready."""
        ranked: list[tuple[int, float, float, int, GpuState]] = []
        mixed = g.mixed
        for G in self.by_type[job.gpu_type]:
            if G.held is g and not G.drain and (not mixed or job.load_on(G.type) <= G.level):
                s = G.free[0]
                ranked.append((0, s if s > t else t, 0.0, G.i, G))
                continue
            h = G.held
            kept = h is not None and h is not g and (
                G.last_start > t or (bool(h.queue) and can_serve(h, h.queue[0], G))
            )
            ready = (G.busy if G.busy > t else t) + job.load_on(G.type)
            ranked.append((1 if kept else 0, ready, self.victim_value(G, t), G.i, G))
        ranked.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
        top = ranked[: job.gpus]
        start = max(r[1] for r in top)
        tokens = g.tokens
        if tokens is not None and tokens[0] > start:
            start = tokens[0]
        self._commit(job, g, tuple(r[4] for r in top), start, t, 0.0)

    def _afford(self, job: Job, start: float) -> bool:
        """Count the job's cost against its start day's limit, or defer it (False) with the reason."""
        assert self.limit is not None and job.cost is not None
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
            return False
        self.spend[day] = spent + job.cost
        return True

    def _warm(self, job: Job, g: GroupState, G: GpuState, start: float, t: float) -> None:
        """Plan ``job`` on GPU G, which holds g's model, at ``start`` (the hot path of _commit)."""
        if self.limit is not None and job.cost is not None and not self._afford(job, start):
            return
        end = start + job.duration_s
        heapq.heapreplace(G.free, end)
        if end > G.busy:
            G.busy = end
            if self.waiters:
                self._push_idle(G, t)
        if start > G.last_start:
            G.last_start = start
        e = G.epoch
        assert e is not None
        e.jobs.append(tuple.__new__(Placement, (job.id, start, end)))
        if end > e.end:
            e.end = end
        if g.tokens is not None:
            heapq.heapreplace(g.tokens, end)

    def _commit(
        self, job: Job, g: GroupState, chosen: Sequence[GpuState], start: float, t: float, level: float
    ) -> None:
        """Plan ``job`` on ``chosen`` at ``start``; switch a GPU to g's model first if needed."""
        if self.limit is not None and job.cost is not None and not self._afford(job, start):
            return
        end = start + job.duration_s
        p = Placement(job.id, start, end)
        waiters = self.waiters
        for G in chosen:
            if G.held is not g or (g.mixed and job.load_on(G.type) > G.level):
                self._switch(G, g, t, max(level, job.load_on(G.type)))
                if G.free[0] > start:  # pragma: no cover - callers start after the load
                    raise AssertionError("job planned before its load ends")
            heapq.heapreplace(G.free, end)
            if end > G.busy:
                G.busy = end
                if waiters:
                    self._push_idle(G, t)
            if start > G.last_start:
                G.last_start = start
            e = G.epoch
            assert e is not None
            e.jobs.append(p)
            if end > e.end:
                e.end = end
        if g.tokens is not None:
            heapq.heapreplace(g.tokens, end)

    def _switch(self, G: GpuState, g: GroupState, t: float, level: float) -> None:
        """Give GPU G to group g (or reload it larger): close its epoch, load once the GPU is idle."""
        old = G.held
        if old is not None:
            old.gpus.remove(G)
        elif G in self.empty:
            self.empty.remove(G)
        if G.epoch is not None:
            self.closed.append(G.epoch)
        ls = G.busy if G.busy > t else t
        G.epoch = OpenEpoch(G, g, ls, level)
        G.held = g
        G.drain = False
        G.level = level
        G.free = [ls + level] * g.slots_on(G)
        G.busy = ls + level
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


# Kept for callers of the earlier name.
_submit_order = submit_order
