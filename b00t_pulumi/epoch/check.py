"""An independent feasibility checker for plans (ours, the baselines', or a ``--plan-out`` file).

It shares no code with the schedulers: it only reads the plan, the jobs and the inventory, and
returns a list of problems (empty = feasible). Used by the property tests and ``bench schedule``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal

from b00t_pulumi.epoch.model import DAY_S, Epoch, Gpu, GroupSettings, Job, Plan

EPS = 1e-6


def check_plan(
    plan: Plan,
    jobs: Sequence[Job],
    gpus: Sequence[Gpu] | None = None,
    *,
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
    exclusive: bool = True,
    daily_limit: Decimal | None = None,
    max_problems: int = 50,
) -> list[str]:
    """What makes ``plan`` infeasible for ``jobs`` on ``gpus`` (default: the plan's own GPUs).

    Checked: every job placed (on ``gpus`` distinct GPUs at one common start and end) or deferred
    with a reason, never both; start >= submit; run time = duration; a job inside its epoch, after
    the load, on a GPU of its type; an epoch of its job's group; a load no shorter than its jobs'
    ``load_on`` that GPU's type, unless the same GPU's previous epoch held that model loaded at
    least as large; slots never exceeded;
    ``max_concurrent_jobs``; ``jobs_per_gpu`` (with ``exclusive``); the daily limit. With
    ``exclusive`` (our plans and FIFO-warm) a GPU holds one model at a time: its epochs do not
    overlap. Without it (FIFO-cold, one process per job) epochs, loads included, only share the
    GPU's slots. The FIFO baselines do not honour ``jobs_per_gpu`` (Kueue knows no per-GPU cap of a
    model): check their plans against settings without it.
    """
    out: list[str] = []

    def bad(msg: str) -> bool:
        out.append(msg)
        return len(out) >= max_problems

    inventory = list(gpus if gpus is not None else plan.gpus)
    gpu_by_id: dict[str, Gpu] = {}
    for g in inventory:
        if g.id in gpu_by_id and bad(f"gpu {g.id}: listed twice"):
            return out
        gpu_by_id[g.id] = g
    by_id = {j.id: j for j in jobs}
    groups = groups or {}
    default = default or GroupSettings()

    seen_epochs: set[str] = set()
    seen: dict[str, list[tuple[str, float, float]]] = {}  # job -> (gpu, start, end) per epoch
    per_gpu: dict[str, list[Epoch]] = {}
    for e in plan.epochs:
        where = f"epoch {e.id}"
        if e.id in seen_epochs and bad(f"{where}: duplicate epoch id"):
            return out
        seen_epochs.add(e.id)
        gpu = gpu_by_id.get(e.gpu)
        if gpu is None:
            if bad(f"{where}: unknown GPU {e.gpu!r}"):
                return out
            continue
        per_gpu.setdefault(e.gpu, []).append(e)
        if e.load_s < 0 and bad(f"{where}: negative load_s {e.load_s}"):
            return out
        if abs(e.load_start_s + e.load_s - e.start_s) > EPS and bad(
            f"{where}: start_s {e.start_s} != load_start_s {e.load_start_s} + load_s {e.load_s}"
        ):
            return out
        if e.end_s + EPS < e.start_s and bad(f"{where}: ends ({e.end_s}) before it starts ({e.start_s})"):
            return out
        if not e.jobs and bad(f"{where}: has no jobs"):
            return out
        for p in e.jobs:
            j = by_id.get(p.id)
            if j is None:
                if bad(f"{where}: unknown job {p.id!r}"):
                    return out
                continue
            seen.setdefault(p.id, []).append((e.gpu, p.start_s, p.end_s))
            jw = f"{where}: job {p.id}"
            msgs = []
            if j.group != e.group:
                msgs.append(f"{jw}: group {j.group!r} in an epoch of {e.group!r}")
            if j.gpu_type is not None and gpu.gpu_type != j.gpu_type:
                msgs.append(f"{jw}: needs GPU type {j.gpu_type!r}, {gpu.id} is {gpu.gpu_type!r}")
            if p.start_s + EPS < j.submit_s:
                msgs.append(f"{jw}: starts at {p.start_s} before its submit {j.submit_s}")
            if p.start_s + EPS < e.start_s:
                msgs.append(f"{jw}: starts at {p.start_s} before the epoch's load ends ({e.start_s})")
            if p.end_s > e.end_s + EPS:
                msgs.append(f"{jw}: ends at {p.end_s} after the epoch ({e.end_s})")
            if abs((p.end_s - p.start_s) - j.duration_s) > EPS:
                msgs.append(f"{jw}: runs {p.end_s - p.start_s} s, its duration is {j.duration_s} s")
            for m in msgs:
                if bad(m):
                    return out

    # Loads: an epoch loads at least what its jobs need on this GPU type, unless it continues the
    # same model on the same GPU, loaded at least that large by an earlier epoch.
    for gid, eps in per_gpu.items():
        eps.sort(key=lambda e: (e.load_start_s, e.start_s, e.id))
        gtype = gpu_by_id[gid].gpu_type
        prev: Epoch | None = None  # the epoch just before (by load start)
        reach: Epoch | None = None  # the epoch, so far, that holds the GPU the longest
        level = 0.0  # how large the model held by `prev` was loaded
        for e in eps:
            need = max((by_id[p.id].load_on(gtype) for p in e.jobs if p.id in by_id), default=0.0)
            carried = level if exclusive and prev is not None and prev.group == e.group else 0.0
            if max(e.load_s, carried) + EPS < need:
                held = f"{gid} held it loaded for {carried} s before" if carried else f"{gid} did not hold it before"
                if bad(f"epoch {e.id}: loads {e.load_s} s but model {e.group!r} takes {need} s and {held}"):
                    return out
            level = max(e.load_s, carried)
            if exclusive and reach is not None and e.load_start_s + EPS < reach.end_s and bad(
                f"gpu {gid}: epoch {e.id} ({e.group}) starts loading at {e.load_start_s} while epoch "
                f"{reach.id} ({reach.group}) holds the GPU until {reach.end_s}"
            ):
                return out
            prev = e
            if reach is None or e.end_s > reach.end_s:
                reach = e
        # Slots: jobs (exclusive) or whole epochs including their load (shared) at any instant.
        slots = gpu_by_id[gid].slots
        if exclusive:
            spans = [(p.start_s, p.end_s) for e in eps for p in e.jobs]
        else:
            spans = [(e.load_start_s, e.end_s) for e in eps]
        peak, at = _peak(spans)
        if peak > slots and bad(f"gpu {gid}: {peak} jobs at once at t={at}, it has {slots} slots"):
            return out
        if exclusive:  # one group at a time on the GPU: its jobs_per_gpu caps each of its epochs
            for e in eps:
                cap = groups.get(e.group, default).jobs_per_gpu
                if cap is None:
                    continue
                peak, at = _peak([(p.start_s, p.end_s) for p in e.jobs])
                if peak > cap and bad(f"gpu {gid}: epoch {e.id} runs {peak} jobs of {e.group} at once at t={at}, "
                                      f"jobs_per_gpu is {cap}"):
                    return out

    # Every job placed on `gpus` GPUs with one start and end, or deferred; never both.
    deferred: dict[str, str] = {}
    for d in plan.deferred:
        if d.id not in by_id and bad(f"deferred job {d.id!r} is not a known job"):
            return out
        if d.id in deferred and bad(f"job {d.id}: deferred twice"):
            return out
        if not d.reason.strip() and bad(f"job {d.id}: deferred without a reason"):
            return out
        deferred[d.id] = d.reason
    for j in jobs:
        places = seen.get(j.id, [])
        if j.id in deferred:
            if places and bad(f"job {j.id}: both deferred and placed"):
                return out
            continue
        if not places:
            if bad(f"job {j.id}: neither placed nor deferred"):
                return out
            continue
        msgs = []
        if len(places) != j.gpus:
            msgs.append(f"job {j.id}: placed {len(places)} times, needs {j.gpus} GPU(s)")
        if len({g for g, _, _ in places}) != len(places):
            msgs.append(f"job {j.id}: placed twice on one GPU")
        if len({(a, b) for _, a, b in places}) != 1:
            msgs.append(f"job {j.id}: its GPUs do not run it at one common time")
        for m in msgs:
            if bad(m):
                return out

    # Group caps and the daily limit, over distinct placed jobs.
    first = {jid: pl[0] for jid, pl in seen.items()}
    per_group: dict[str, list[tuple[float, float]]] = {}
    for jid, (_, t_start, t_end) in first.items():
        per_group.setdefault(by_id[jid].group, []).append((t_start, t_end))
    for group, spans in per_group.items():
        cap = groups.get(group, default).max_concurrent_jobs
        if cap is None:
            continue
        peak, at = _peak(spans)
        if peak > cap and bad(f"group {group}: {peak} jobs run at once at t={at}, max_concurrent_jobs is {cap}"):
            return out
    if daily_limit is not None:
        spend: dict[int, Decimal] = {}
        for jid, (_, s, _) in first.items():
            c = by_id[jid].cost
            if c is not None:
                day = math.floor(s / DAY_S)
                spend[day] = spend.get(day, Decimal(0)) + c
        for day, total in sorted(spend.items()):
            if total > daily_limit and bad(f"day {day}: jobs cost {total}, over the daily limit {daily_limit}"):
                return out
    return out


def _peak(spans: Sequence[tuple[float, float]]) -> tuple[int, float]:
    """Most half-open intervals [s, e) that overlap at one instant, and that instant."""
    events = sorted([(e, -1) for _, e in spans] + [(s, 1) for s, _ in spans])
    cur = peak = 0
    at = 0.0
    for t, d in events:
        cur += d
        if cur > peak:
            peak, at = cur, t
    return peak, at


def check_stability(previous: Plan, plan: Plan, now: float) -> list[str]:
    """Problems if re-planning at ``now`` moved an epoch that had started or one of its jobs.

    An epoch of ``previous`` with start_s < now must be in ``plan`` with the same id, GPU,
    group, load and start, holding each of its jobs at the same times (it may have gained jobs).
    Every other epoch of ``plan`` must start loading at or after ``now``, and jobs added to a
    kept epoch must start at or after ``now``.
    """
    out: list[str] = []
    new = {e.id: e for e in plan.epochs}
    kept: set[str] = set()
    for e in previous.epochs:
        if e.start_s >= now:
            continue
        n = new.get(e.id)
        if n is None:
            out.append(f"epoch {e.id} started at {e.start_s} < now={now} but is gone")
            continue
        kept.add(e.id)
        key = (e.gpu, e.group, e.load_start_s, e.load_s, e.start_s)
        if (n.gpu, n.group, n.load_start_s, n.load_s, n.start_s) != key:
            out.append(f"epoch {e.id} started before now={now} but moved")
        if n.end_s + EPS < e.end_s:
            out.append(f"epoch {e.id} started before now={now} but now ends earlier")
        old_jobs = set(e.jobs)
        if not old_jobs <= set(n.jobs):
            out.append(f"epoch {e.id}: jobs of a started epoch moved or vanished")
        for p in n.jobs:
            if p not in old_jobs and p.start_s + EPS < now:
                out.append(f"epoch {e.id}: added job {p.id} starts at {p.start_s}, before now={now}")
    prev_ids = {e.id: e for e in previous.epochs}
    for e in plan.epochs:
        if e.id in kept:
            continue
        old = prev_ids.get(e.id)
        same = old is not None and (old.gpu, old.group, old.load_start_s, old.load_s) == (
            e.gpu, e.group, e.load_start_s, e.load_s
        )
        if same and e.load_start_s < now:
            continue  # it was loading at now (start_s >= now) and was kept
        if e.load_start_s + EPS < now:
            out.append(f"epoch {e.id}: new, but starts loading at {e.load_start_s} < now={now}")
    return out
