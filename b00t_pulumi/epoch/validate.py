"""Input checks shared by the scheduler and the baselines: every problem at once, never a traceback."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import attrgetter
from typing import NamedTuple

from b00t_pulumi.epoch.model import Gpu, GroupSettings, Job
from b00t_pulumi.errors import Problem, ScheduleError

_INF = float("inf")
_MAX_PROBLEMS = 50


class Columns(NamedTuple):
    """Columns of the jobs that the check read anyway, for callers that need them too."""

    groups: list[str]
    loads: list[float]


def check_inputs(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
) -> Columns:
    """Raise ScheduleError listing what is wrong with the jobs, the inventory or the settings.

    A job asking for a GPU type that no GPU in the inventory has is an error (not a deferral):
    it usually means a typo in a datum or an inventory that is not the one you meant. Returns the
    jobs' groups and loads, in job order.
    """
    problems: list[Problem] = []
    seen_gpu: set[str] = set()
    for g in gpus:
        where = f"gpu {g.id!r}"
        if not g.id:
            problems.append(Problem("inventory", "gpu.id", "a GPU has an empty id"))
        elif g.id in seen_gpu:
            problems.append(Problem("inventory", where, "duplicate GPU id"))
        seen_gpu.add(g.id)
        if not isinstance(g.slots, int) or isinstance(g.slots, bool) or g.slots < 1:
            problems.append(Problem("inventory", f"{where}.slots", f"must be an integer >= 1, got {g.slots!r}"))
    for name, s in [*(groups or {}).items(), *([("(default)", default)] if default else [])]:
        if not 0 <= s.batch_window_s < _INF:
            problems.append(
                Problem("settings", f"group {name!r}.batch_window", f"must be >= 0 s, got {s.batch_window_s!r}")
            )
        for key, m in (("max_concurrent_jobs", s.max_concurrent_jobs), ("jobs_per_gpu", s.jobs_per_gpu)):
            if m is not None and (not isinstance(m, int) or isinstance(m, bool) or m < 1):
                problems.append(Problem("settings", f"group {name!r}.{key}", f"must be an integer >= 1, got {m!r}"))
    types = {g.gpu_type for g in gpus}
    if jobs and not gpus:
        problems.append(Problem("inventory", "gpus", f"no GPUs to run {len(jobs)} job(s) on"))
        raise ScheduleError(problems)
    ids = list(map(_ID, jobs))
    ids_set = set(ids)
    names: list[str] = list(map(_GROUP, jobs))
    loads: list[float] = list(map(_LOAD, jobs))
    if not _all_good(jobs, ids_set, names, loads, types):
        for j in jobs:
            found = _job_problems(j, types)
            problems.extend(found)
            if len(problems) >= _MAX_PROBLEMS:
                break
    if len(ids_set) != len(ids):
        seen: set[str] = set()
        for j in jobs:
            if j.id in seen:
                problems.append(Problem(f"job {j.id!r}", "id", "duplicate job id"))
            seen.add(j.id)
    if problems:
        raise ScheduleError(problems[:_MAX_PROBLEMS])
    return Columns(names, loads)


_ID = attrgetter("id")


def _all_good(jobs: Sequence[Job], ids_set: set[str], names: list[str], loads: list[float], types: set[str]) -> bool:
    """Whether every job is valid, one column at a time (the usual case, fast); when not, the
    per-job check says what is wrong. NaN and infinities make a column's sum non-finite; a value
    of the wrong type makes the sum or a comparison fail."""
    if not jobs:
        return True
    try:
        duration = list(map(_DURATION, jobs))
        gpus = list(map(_GPUS, jobs))
        costs = [c for c in map(_COST, jobs) if c is not None]
        return bool(
            all(ids_set)
            and all(set(names))
            and math.isfinite(sum(map(_SUBMIT, jobs)))
            and min(duration) > 0 and math.isfinite(sum(duration))
            and min(loads) >= 0 and math.isfinite(sum(loads))
            and set(map(type, gpus)) == {int} and min(gpus) >= 1
            and set(map(_GPU_TYPE, jobs)) - {None} <= types
            and (not costs or (set(map(type, costs)) == {Decimal} and all(map(Decimal.is_finite, costs))
                               and min(costs) >= 0))
            and not any(_by_type_problems(j) for j in jobs if j.load_by_type)
        )
    except (TypeError, ArithmeticError):
        return False


_DURATION = attrgetter("duration_s")
_LOAD = attrgetter("load_s")
_GPUS = attrgetter("gpus")
_COST = attrgetter("cost")
_GROUP = attrgetter("group")
_SUBMIT = attrgetter("submit_s")
_GPU_TYPE = attrgetter("gpu_type")
_REAL = {int, float}


def _real(x: object) -> bool:
    return type(x) in _REAL


def _by_type_problems(j: Job) -> list[str]:
    out = []
    for entry in j.load_by_type:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str)):
            out.append(f"each entry must be (gpu type, seconds), got {entry!r}")
        elif isinstance(entry[1], bool) or not isinstance(entry[1], int | float) or not 0 <= entry[1] < _INF:
            out.append(f"{entry[0]}: must be >= 0 s, got {entry[1]!r}")
    return out


def _job_problems(j: Job, types: set[str]) -> list[Problem]:
    where = f"job {j.id!r}"
    out: list[Problem] = []
    if not j.id:
        out.append(Problem(where, "id", "must not be empty"))
    if not j.group:
        out.append(Problem(where, "group", "must not be empty"))
    if not (_real(j.submit_s) and -_INF < j.submit_s < _INF):
        out.append(Problem(where, "submit_s", f"must be a finite number, got {j.submit_s!r}"))
    if not (_real(j.duration_s) and 0 < j.duration_s < _INF):
        out.append(Problem(where, "duration_s", f"must be > 0 s, got {j.duration_s!r}"))
    if not (_real(j.load_s) and 0 <= j.load_s < _INF):
        out.append(Problem(where, "load_s", f"must be >= 0 s, got {j.load_s!r}"))
    if type(j.gpus) is not int or j.gpus < 1:
        out.append(Problem(where, "gpus", f"must be an integer >= 1, got {j.gpus!r}"))
    if j.gpu_type is not None and j.gpu_type not in types:
        known = ", ".join(sorted(types)) or "none"
        out.append(
            Problem(where, "gpu_type", f"no GPU of type {j.gpu_type!r} in the inventory (types there: {known})")
        )
    if j.cost is not None and not (isinstance(j.cost, Decimal) and j.cost.is_finite() and j.cost >= 0):
        out.append(Problem(where, "cost", f"must be a Decimal >= 0, got {j.cost!r}"))
    out.extend(Problem(where, "load_by_type", m) for m in _by_type_problems(j))
    return out


def gang_deferral(job: Job, gpus: Sequence[Gpu]) -> str | None:
    """Why a job can never run on this inventory (more GPUs at once than there are), or None."""
    if job.gpus == 1:
        return None
    n = sum(1 for g in gpus if job.gpu_type is None or g.gpu_type == job.gpu_type)
    if job.gpus <= n:
        return None
    kind = f" of type {job.gpu_type}" if job.gpu_type else ""
    return f"needs {job.gpus} GPUs{kind} at once but the inventory has {n}; add GPUs or lower gpus"
