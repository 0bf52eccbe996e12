"""The Pulumi program of this project (``__main__.py`` calls ``main``): datums -> planner -> components."""

from __future__ import annotations

import os
from pathlib import Path

import pulumi

from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.deploy.components import B00tJob, B00tStack, BudgetConstraint, GpuTimeSlicing, KueueQueues
from b00t_pulumi.deploy.config import kubernetes_provider, read_settings
from b00t_pulumi.deploy.resources import SecretResolver, create
from b00t_pulumi.errors import B00tError


def main() -> None:
    try:
        _program()
    except B00tError as exc:
        # A clear message, not a traceback: file, key path, what is wrong.
        raise pulumi.RunError(f"b00t-pulumi: invalid input\n{exc}") from None


def _program() -> None:
    from b00t_pulumi.plan.planner import Planner

    settings, secret_config = read_settings()
    catalog = Catalog.load([Path(p) for p in settings.datum_paths])
    for w in catalog.warnings:
        pulumi.log.warn(str(w))
    catalog.raise_for_errors()
    planner = Planner(catalog, settings, environ=os.environ)
    plan = planner.plan_cluster()
    for note in plan.notes + [n for s in plan.stacks for n in s.notes] + [n for j in plan.jobs for n in j.notes]:
        pulumi.log.info(note)

    provider = kubernetes_provider(settings)
    opts = pulumi.ResourceOptions(provider=provider)
    secrets = SecretResolver(secret_config)
    skip = settings.skip_await

    namespaces = {o["metadata"]["name"]: create(o, opts, skip_await=skip) for o in plan.namespaces}
    ns_list = list(namespaces.values())
    crd = BudgetConstraint.definition(opts) if plan.crds else None
    kueue = KueueQueues("kueue", plan.kueue, depends_on=ns_list, opts=opts) if plan.kueue else None
    if plan.time_slicing:
        GpuTimeSlicing("gpu-time-slicing", plan.time_slicing, opts=opts)

    stacks: dict[str, B00tStack] = {}
    for sp in plan.stacks:
        stacks[sp.stack.name] = B00tStack(sp.stack.name, sp, skip_await=skip, secrets=secrets, budget_crd=crd,
                                          depends_on=[namespaces[sp.namespace]], opts=opts)
    jobs: dict[str, B00tJob] = {}
    for jp in plan.jobs:
        needs = [stacks[s.name] for s in planner.required_stacks(jp.job) if s.name in stacks]
        deps = [namespaces[jp.namespace], *needs, *([kueue] if kueue else [])]
        jobs[jp.job.name] = B00tJob(jp.job.name, jp, skip_await=skip, secrets=secrets, budget_crd=crd,
                                    depends_on=deps, opts=opts)

    pulumi.export("stacks", {
        name: {
            "namespace": s.namespace,
            "endpoints": s.endpoints,
            "budget": None if s.budget is None else {
                "constraint": f"{s.namespace}/{s.plan.budget['metadata']['name']}" if s.plan.budget else None,
                "dailyLimit": s.budget.daily_limit, "currency": s.budget.currency,
                "onBudgetExceeded": s.budget.on_budget_exceeded,
            },
        }
        for name, s in stacks.items()
    })
    pulumi.export("jobs", {name: {"namespace": j.namespace,
                                  "queue": j.plan.job_object["metadata"]["labels"].get("kueue.x-k8s.io/queue-name")}
                           for name, j in jobs.items()})
    if kueue:
        pulumi.export("clusterQueue", kueue.cluster_queue)
