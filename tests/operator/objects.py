"""Kubernetes object dicts as the API server returns them (camelCase JSON), for the operator's unit tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.observed import iso

_rv = itertools.count(100)
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def uid() -> str:
    return str(uuid.uuid4())


def meta(name: str, ns: str = "ai", **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": ns, "uid": uid(), "resourceVersion": str(next(_rv)),
            "creationTimestamp": iso(T0), **extra}


def job(name: str, *, ns: str = "ai", budget: str | None = "b", cost: str | None = "2.50", currency: str = "USD",
        queue: str | None = None, suspend: bool = False, suspended_until: float | None = None,
        deferred_until: float | None = None, after: str | None = None, gpus: int = 0, gpu_type: str | None = None,
        cpu: str = "1", created: float = T0, ann: dict[str, str] | None = None) -> dict[str, Any]:
    annotations: dict[str, str] = {}
    if budget is not None:
        annotations[c.BUDGET_CONSTRAINT] = budget
    if cost is not None:
        annotations[c.ESTIMATED_COST] = cost
        annotations[c.BUDGET_CURRENCY] = currency
    annotations[c.SUSPENDED_UNTIL] = iso(suspended_until) if suspended_until else ""
    annotations[c.DEFERRED_UNTIL] = iso(deferred_until) if deferred_until else ""
    if after is not None:
        annotations[c.AFTER_JOBS] = after
    if gpu_type:
        annotations[c.GPU_TYPE] = gpu_type
    annotations.update(ann or {})
    labels = {c.QUEUE_LABEL: queue} if queue else {}
    res: dict[str, Any] = {"requests": {"cpu": cpu, "memory": "1Gi"}}
    if gpus:
        res["limits"] = {"nvidia.com/gpu": str(gpus)}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {**meta(name, ns), "creationTimestamp": iso(created), "annotations": annotations,
                         "labels": labels},
            "spec": {"suspend": suspend, "template": {"spec": {"containers": [
                {"name": name, "image": "x", "resources": res}]}}},
            "status": {}}


def finished(obj: dict[str, Any], start: float, end: float, *, failed: bool = False) -> dict[str, Any]:
    out = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(next(_rv))}}
    cond = {"type": "Failed" if failed else "Complete", "status": "True", "lastTransitionTime": iso(end)}
    out["status"] = {"startTime": iso(start), "conditions": [cond]}
    if not failed:
        out["status"]["completionTime"] = iso(end)
    return out


def bump(obj: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A newer version of ``obj`` with top-level ``spec``/``status`` keys changed."""
    out = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(next(_rv))}}
    for k, v in changes.items():
        out[k] = v
    return out


def pod(job_obj: dict[str, Any], name: str, start: float | None, end: float | None, *,
        phase: str = "Succeeded") -> dict[str, Any]:
    """A kwok-style pod: ``startTime`` when it ran, containers terminated with finishedAt (startedAt = finishedAt)."""
    spec = job_obj["spec"]["template"]["spec"]
    status: dict[str, Any] = {"phase": phase}
    if start is not None:
        status["startTime"] = iso(start)
    if end is not None:
        status["containerStatuses"] = [{"name": ct["name"], "state": {"terminated": {
            "exitCode": 0, "startedAt": iso(end), "finishedAt": iso(end)}}} for ct in spec["containers"]]
    elif start is not None:
        status["containerStatuses"] = [{"name": ct["name"], "state": {"running": {"startedAt": iso(start)}}}
                                       for ct in spec["containers"]]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {**meta(name, job_obj["metadata"]["namespace"]),
                         "labels": {c.JOB_UID_LABEL: job_obj["metadata"]["uid"]}},
            "spec": spec, "status": status}


def workload(job_obj: dict[str, Any], *, state: str = c.PENDING, quota: bool = True, admitted: bool = False,
             finished_: bool = False, checks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    m = job_obj["metadata"]
    conds = []
    if quota:
        conds.append({"type": "QuotaReserved", "status": "True"})
    if admitted:
        conds.append({"type": "Admitted", "status": "True"})
    if finished_:
        conds.append({"type": "Finished", "status": "True"})
    entries = checks if checks is not None else [{"name": c.ADMISSION_CHECK_NAME, "state": state, "message": ""}]
    return {"apiVersion": c.KUEUE_API, "kind": "Workload",
            "metadata": {**meta(f"job-{m['name']}-abcde", m["namespace"]),
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": m["name"],
                                              "uid": m["uid"], "controller": True}]},
            "spec": {"active": True, "queueName": "q"},
            "status": {"conditions": conds, "admission": {"clusterQueue": "cq"}, "admissionChecks": entries}}


def budget(name: str = "b", ns: str = "ai", *, limit: str = "10.00", policy: str = "defer",
           cost_per_job: str | None = None, schedule: str = "0 0 * * *", threshold: float | None = None,
           webhook: bool = False, currency: str = "USD", generation: int = 1) -> dict[str, Any]:
    spec: dict[str, Any] = {"target": {"kind": "Stack", "name": name}, "dailyLimit": limit, "currency": currency,
                            "onBudgetExceeded": policy, "resetSchedule": schedule, "timezone": "UTC"}
    if cost_per_job is not None:
        spec["costPerJob"] = cost_per_job
    if threshold is not None:
        spec["alertThreshold"] = threshold
    if webhook:
        spec["webhookSecretRef"] = {"name": f"{name}-webhook", "key": "url"}
    return {"apiVersion": "b00t.io/v1", "kind": "BudgetConstraint",
            "metadata": {**meta(name, ns), "generation": generation}, "spec": spec, "status": {}}


def deployment(name: str, *, ns: str = "ai", budget: str = "b", daily: str = "4.00", replicas: int = 1,
               deferred_until: float | None = None, planned: int | None = None) -> dict[str, Any]:
    ann = {c.BUDGET_CONSTRAINT: budget, c.ESTIMATED_DAILY_COST: daily, c.BUDGET_CURRENCY: "USD",
           c.DEFERRED_UNTIL: iso(deferred_until) if deferred_until else ""}
    if planned is not None:
        ann[c.REPLICAS] = str(planned)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {**meta(name, ns), "annotations": ann},
            "spec": {"replicas": replicas}, "status": {"replicas": replicas}}


def admission_check(*, active: bool = False, controller: str = c.CONTROLLER_NAME) -> dict[str, Any]:
    status = {"conditions": [{"type": "Active", "status": "True", "observedGeneration": 1}]} if active else {}
    return {"apiVersion": c.KUEUE_API, "kind": "AdmissionCheck",
            "metadata": {"name": c.ADMISSION_CHECK_NAME, "generation": 1, "resourceVersion": str(next(_rv))},
            "spec": {"controllerName": controller}, "status": status}
