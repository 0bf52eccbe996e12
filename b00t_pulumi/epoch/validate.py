"""Input checks shared by the scheduler and the baselines: every problem at once, never a traceback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from b00t_pulumi.epoch.model import Gpu, GroupSettings, Job
from b00t_pulumi.errors import Problem, ScheduleError

_INF = float("inf")
_MAX_PROBLEMS = 50


def check_inputs(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    groups: Mapping[str, GroupSettings] | None = None,
    default: GroupSettings | None = None,
) -> None:
    """Raise ScheduleError listing what is wrong with the jobs, the inventory or the settings.

    A job asking for a GPU type that no GPU in the inventory has is an error (not a deferral):
    it usually means a typo in a datum or an inventory that is not the one you meant.
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
        m = s.max_concurrent_jobs
        if m is not None and (not isinstance(m, int) or isinstance(m, bool) or m < 1):
            problems.append(
                Problem("settings", f"group {name!r}.max_concurrent_jobs", f"must be an integer >= 1, got {m!r}")
            )
    types = {g.gpu_type for g in gpus}
    if jobs and not gpus:
        problems.append(Problem("inventory", "gpus", f"no GPUs to run {len(jobs)} job(s) on"))
        raise ScheduleError(problems)
    for j in jobs:
        # One cheap test per job; the detailed messages only when something is off.
        if (
            j.id
            and j.group
            and -_INF < j.submit_s < _INF
            and 0 < j.duration_s < _INF
            and 0 <= j.load_s < _INF
            and type(j.gpus) is int
            and j.gpus >= 1
            and (j.gpu_type is None or j.gpu_type in types)
            and (j.cost is None or (isinstance(j.cost, Decimal) and j.cost.is_finite() and j.cost >= 0))
        ):
            continue
        problems.extend(_job_problems(j, types))
        if len(problems) >= _MAX_PROBLEMS:
            break
    if len({j.id for j in jobs}) != len(jobs):
        seen: set[str] = set()
        for j in jobs:
            if j.id in seen:
                problems.append(Problem(f"job {j.id!r}", "id", "duplicate job id"))
            seen.add(j.id)
    if problems:
        raise ScheduleError(problems[:_MAX_PROBLEMS])


def _job_problems(j: Job, types: set[str]) -> list[Problem]:
    where = f"job {j.id!r}"
    out: list[Problem] = []
    if not j.id:
        out.append(Problem(where, "id", "must not be empty"))
    if not j.group:
        out.append(Problem(where, "group", "must not be empty"))
    if not -_INF < j.submit_s < _INF:
        out.append(Problem(where, "submit_s", f"must be a finite number, got {j.submit_s!r}"))
    if not 0 < j.duration_s < _INF:
        out.append(Problem(where, "duration_s", f"must be > 0 s, got {j.duration_s!r}"))
    if not 0 <= j.load_s < _INF:
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
