"""The epoch plan of a deploy (pure): GPU jobs of the planned cluster -> scheduler -> assignments.

Used by the ``EpochPlan`` gate (Pulumi) and by ``b00t-pulumi gpu-epochs`` (CLI): one source of truth.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

from b00t_pulumi.plan.model import ClusterPlan
from b00t_pulumi.plan.planner import Planner

DEFAULT_JOB_SECONDS = 1800  # a job without estimated_duration is planned as 30 minutes
START_GRACE_S = 60.0  # a job whose epoch begins within a minute runs now; later epochs wait suspended
INPUT_KEYS = ("jobs", "gpus", "groups")


def clock_now() -> float:
    """Wall clock (Unix seconds), or ``B00T_NOW`` (ISO 8601) for reproducible runs and tests."""
    fixed = os.environ.get("B00T_NOW")
    if fixed:
        return datetime.fromisoformat(fixed.replace("Z", "+00:00")).timestamp()
    return time.time()


def _int_or_none(value: Any) -> int | None:
    """Numbers cross the Pulumi wire as floats (4.0): integers again here."""
    return None if value is None else int(value)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_inputs(planner: Planner, plan: ClusterPlan) -> dict[str, Any]:
    """What the scheduler needs: jobs (GPU jobs only), GPUs, and settings per batch group."""
    jobs: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for jp in plan.jobs:
        need = planner.job_gpu_need(jp.job)
        if need is None or not need.requirements.count:
            continue
        group = need.model_id or need.batch_group or jp.job.name
        epoch = need.epoch
        job: dict[str, Any] = {
            "id": jp.job.name,
            "group": group,
            "duration_s": jp.job.orch.estimated_duration or DEFAULT_JOB_SECONDS,
            "load_s": epoch.load_time if epoch else 45,
            "gpus": need.requirements.count,
            "gpu_type": need.requirements.gpu_type,
        }
        if epoch and epoch.load_time_by_type:  # only then: the inputs of a plan without it stay as they were
            job["load_s_by_type"] = dict(sorted(epoch.load_time_by_type.items()))
        jobs.append(job)
        if epoch:
            # the datum's max_concurrent_jobs is per GPU ("up to 4 jobs concurrently on the same GPU")
            groups[group] = {"batch_window_s": epoch.batch_window, "jobs_per_gpu": epoch.max_concurrent_jobs}
    gpus = [{"id": g.id, "node": g.node, "gpu_type": g.gpu_type, "slots": g.slots}
            for g in planner.capacity.scheduler_gpus(planner.held_gpu_slices(plan))]
    return {"jobs": sorted(jobs, key=lambda j: j["id"]), "gpus": gpus, "groups": dict(sorted(groups.items()))}



def plan_epochs(props: dict[str, Any], previous: dict[str, Any] | None, now: float) -> dict[str, Any]:
    """Run the scheduler for the resource's inputs (pure given ``now``); the resource's outputs."""
    from b00t_pulumi.epoch import Gpu, GroupSettings, Job, Plan, schedule

    submitted: dict[str, float] = dict((previous or {}).get("submitted", {}))
    jobs = []
    for j in props.get("jobs", []):
        submit = submitted.setdefault(j["id"], now)
        jobs.append(Job(id=j["id"], group=j["group"], submit_s=submit, duration_s=float(j["duration_s"]),
                        load_s=float(j["load_s"]), gpus=int(j.get("gpus", 1)), gpu_type=j.get("gpu_type"),
                        load_by_type=tuple(sorted((t, float(v)) for t, v in (j.get("load_s_by_type") or {}).items()))))
    gpus = [Gpu(id=g["id"], node=g.get("node", ""), gpu_type=g.get("gpu_type", "gpu"), slots=int(g["slots"]))
            for g in props.get("gpus", [])]
    groups = {k: GroupSettings(batch_window_s=float(v["batch_window_s"]),
                               max_concurrent_jobs=_int_or_none(v.get("max_concurrent_jobs")),
                               jobs_per_gpu=_int_or_none(v.get("jobs_per_gpu")))
              for k, v in props.get("groups", {}).items()}
    old_plan = Plan.from_dict(previous["plan"], source="EpochPlan state") if previous and "plan" in previous else None
    plan = schedule(jobs, gpus, groups=groups, previous=old_plan, now=now)
    node_of = {g.id: g.node for g in gpus}
    assignments: dict[str, dict[str, Any]] = {}
    for e in plan.epochs:
        for p in e.jobs:
            assignments.setdefault(p.id, {
                "epoch": e.id, "gpu": e.gpu, "node": node_of.get(e.gpu, ""), "group": e.group,
                "start_s": p.start_s, "start": iso(p.start_s),
                "suspend": e.load_start_s > now + START_GRACE_S, "deferred": None,
            })
    for d in plan.deferred:
        assignments[d.id] = {"epoch": None, "gpu": None, "node": None, "group": None, "start_s": None,
                             "start": None, "suspend": True, "deferred": d.reason}
    return {**{k: props.get(k) for k in INPUT_KEYS}, "plan": plan.to_dict(), "assignments": assignments,
            "submitted": {j.id: submitted[j.id] for j in jobs}, "planned_at": iso(now),
            "loads": plan.loads}
