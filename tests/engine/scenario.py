"""Datums -> the planner's objects for the operator's engine tests and benchmark (the objects Pulumi would
create), with the gates' decisions applied by the same pure function the Pulumi face uses."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.gates.decisions import apply_fields, gate_fields
from b00t_pulumi.operator import contract as c
from b00t_pulumi.plan.model import ClusterPlan, JobPlan, StackPlan
from b00t_pulumi.plan.objects import K8sObject
from b00t_pulumi.plan.planner import Planner
from b00t_pulumi.settings import settings_from_config


def pool_stack(name: str, *, limit: str, cost_per_job: str | None = None, policy: str = "defer",
               schedule: str = "0 0 * * *") -> str:
    """A stack with no members: only a budget its jobs share."""
    cpj = f"cost_per_job = {cost_per_job}\n" if cost_per_job is not None else ""
    return (f'[b00t]\nname = "{name}"\ntype = "stack"\nhint = "a budget for a pool of jobs"\nmembers = []\n\n'
            f'[b00t.orchestration.budget_constraint]\ndaily_limit = {limit}\ncurrency = "USD"\n{cpj}'
            f'on_budget_exceeded = "{policy}"\nreset_schedule = "{schedule}"\n')


def job_datum(name: str, stack: str, *, queue: str | None = "q", duration: str = "30s", gpus: int = 0,
              gpu_type: str = "nvidia-a100", cpu: str = "1") -> str:
    q = f'queue_name = "{queue}"\n' if queue else ""
    gpu = (f'\n[b00t.orchestration.gpu_requirements]\ncount = {gpus}\ngpu_type = "{gpu_type}"\nshared = true\n'
           if gpus else "")
    return (f'[b00t]\nname = "{name}"\ntype = "job"\nhint = "x"\nimage = "busybox:1.36"\ncommand = ["true"]\n\n'
            f'[b00t.orchestration]\nrequires_stacks = ["{stack}"]\n{q}estimated_duration = "{duration}"\n\n'
            f'[b00t.orchestration.resource_requirements]\ncpu = "{cpu}"\nmemory = "1Gi"\n{gpu}')


def settings_file(directory: Path, settings: Mapping[str, Any], env: str = "optest") -> Path:
    """A ``Pulumi.<env>.yaml`` of these ``b00t:*`` settings: what the local cluster makes its nodes from."""
    import yaml

    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"Pulumi.{env}.yaml"
    path.write_text(yaml.safe_dump({"config": {f"b00t:{k}": v for k, v in settings.items()}}))
    return path


def planned(directory: Path, datums: Mapping[str, str], settings: Mapping[str, Any]) -> tuple[Planner, ClusterPlan]:
    directory.mkdir(parents=True, exist_ok=True)
    for fname, text in datums.items():
        (directory / fname).write_text(text)
    catalog = Catalog.load([directory])
    catalog.raise_for_errors()
    planner = Planner(catalog, settings_from_config(dict(settings)), environ={})
    return planner, planner.plan_cluster()


def with_admission_check(kueue: list[K8sObject]) -> list[K8sObject]:
    """The planner's Kueue objects, with the ``b00t-budget`` AdmissionCheck listed by the ClusterQueue.

    The planner emits both when the plan has budgets or GPU epochs; this adds them only if it did not."""
    out = [dict(o) for o in kueue]
    if not any(o["kind"] == "AdmissionCheck" for o in out):
        out.insert(0, {"apiVersion": c.KUEUE_API, "kind": "AdmissionCheck",
                       "metadata": {"name": c.ADMISSION_CHECK_NAME}, "spec": {"controllerName": c.CONTROLLER_NAME}})
    for o in out:
        if o["kind"] == "ClusterQueue":
            spec = dict(o["spec"])
            rules = list((spec.get("admissionChecksStrategy") or {}).get("admissionChecks") or [])
            if not any(r.get("name") == c.ADMISSION_CHECK_NAME for r in rules):
                rules.append({"name": c.ADMISSION_CHECK_NAME})
            spec["admissionChecksStrategy"] = {"admissionChecks": rules}
            o["spec"] = spec
    return out


def base_objects(plan: ClusterPlan) -> list[K8sObject]:
    """Everything but the workloads: namespaces, CRDs, Kueue, budgets."""
    owners: list[StackPlan | JobPlan] = [*plan.stacks, *plan.jobs]
    budgets = [p.budget for p in owners if p.budget]
    secrets = [s for p in owners for s in p.budget_secrets]
    return [*plan.namespaces, *plan.crds, *with_admission_check(plan.kueue), *secrets, *budgets]


def job_objects(plan: ClusterPlan, *, starts: Mapping[str, str] | None = None,
                deferred: Mapping[str, str] | None = None, after: Mapping[str, str] | None = None,
                names: Iterable[str] | None = None) -> list[K8sObject]:
    """The planned Jobs with the gates' fields: ``starts`` job -> epoch start (held until then),
    ``deferred`` job -> deferred-until, ``after`` job -> comma-separated Jobs it waits for."""
    wanted = set(names) if names is not None else None
    out: list[K8sObject] = []
    for jp in plan.jobs:
        name = jp.job.name
        if wanted is not None and name not in wanted:
            continue
        start = (starts or {}).get(name)
        assignment = {"epoch": f"e-{name}", "start": start, "suspend": True} if start else None
        fields = gate_fields(name, epoch=start is not None, budget=deferred is not None,
                             assignment=assignment, deferred=dict(deferred or {}))
        job = apply_fields(jp.job_object, fields)
        if name in (after or {}):
            job["metadata"]["annotations"][c.AFTER_JOBS] = (after or {})[name]
            if c.QUEUE_LABEL not in job["metadata"].get("labels", {}):
                job["spec"]["suspend"] = True
        out.append(job)
    return out
