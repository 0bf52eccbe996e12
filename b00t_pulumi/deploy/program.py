"""The Pulumi program of this project (``__main__.py`` calls ``main``): datums -> planner -> components."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path

import pulumi

from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.deploy.components import (
    B00tJob,
    B00tOperator,
    B00tStack,
    BudgetConstraint,
    GpuTimeSlicing,
    KueueQueues,
)
from b00t_pulumi.deploy.config import kubernetes_provider, read_settings
from b00t_pulumi.deploy.resources import SecretResolver, create
from b00t_pulumi.errors import B00tError
from b00t_pulumi.gates.budget_gate import BudgetGate
from b00t_pulumi.gates.epoch_plan import EpochPlan
from b00t_pulumi.gates.preflight import preflight
from b00t_pulumi.plan.model import ClusterPlan
from b00t_pulumi.settings import EnvironmentSettings


def main() -> None:
    try:
        _program()
    except B00tError as exc:
        # A clear message, not a traceback: file, key path, what is wrong.
        raise pulumi.RunError(f"b00t-pulumi: invalid input\n{exc}") from None


def _operator(settings: EnvironmentSettings, plan: ClusterPlan, opts: pulumi.ResourceOptions, skip: bool,
              namespaces: Sequence[pulumi.Resource]) -> None:
    """The b00t operator as a Deployment when ``b00t:operator.image`` is set (docs/operator.md)."""
    from b00t_pulumi.operator.deploy import operator_objects

    budgets = [(p.namespace, p.budget) for p in plan.stacks] + [(p.namespace, p.budget) for p in plan.jobs]
    objs = operator_objects(settings, [ns for ns, cr in budgets if cr and "webhookSecretRef" in cr["spec"]])
    if objs:
        B00tOperator("b00t-operator", objs, depends_on=namespaces, skip_await=skip, opts=opts)


def _say_deferred(constraint_id: str, deferred: dict[str, str] | None) -> None:
    """Each workload a budget deferred, and when it may start (also its b00t.io/deferred-until)."""
    for name, until in sorted((deferred or {}).items()):
        pulumi.log.warn(f"{name}: deferred by budget {constraint_id} until {until} (the next window); "
                        "a Job stays suspended and gated, a Deployment at 0 replicas")


def _program() -> None:
    from b00t_pulumi.plan.planner import Planner

    settings, secret_config = read_settings()
    catalog = Catalog.load([Path(p) for p in settings.datum_paths])
    for w in catalog.warnings:
        pulumi.log.warn(str(w))
    catalog.raise_for_errors()
    planner = Planner(catalog, settings, environ=os.environ)
    # The checks `b00t-pulumi validate` runs too (the budget projections run in each BudgetGate's check).
    pre = preflight(planner, Path.cwd(), ledgers=False)
    if pre.errors or pre.plan is None:
        raise B00tError(pre.errors)
    plan = pre.plan
    for w in pre.problems:
        pulumi.log.warn(str(w))
    for note in plan.all_notes():  # once each, even when several stacks share a member
        pulumi.log.info(note)

    provider = kubernetes_provider(settings)
    opts = pulumi.ResourceOptions(provider=provider)
    secrets = SecretResolver(secret_config)
    skip = settings.skip_await

    namespaces = {o["metadata"]["name"]: create(o, opts, skip_await=skip) for o in plan.namespaces}
    ns_list = list(namespaces.values())
    crd = BudgetConstraint.definition(opts, skip_await=skip) if plan.crds else None
    kueue = KueueQueues("kueue", plan.kueue, depends_on=ns_list, skip_await=skip, opts=opts) if plan.kueue else None
    if plan.time_slicing:
        GpuTimeSlicing("gpu-time-slicing", plan.time_slicing, skip_await=skip, opts=opts)
    _operator(settings, plan, opts, skip, ns_list)

    # Budgets first: each BudgetConstraint CR, then its gate; workloads wait for their gate.
    budgets: dict[str, BudgetConstraint] = {}
    gates: dict[str, BudgetGate] = {}
    owners = [(p.namespace, p.budget, p.budget_secrets) for p in plan.stacks if p.budget] + \
             [(p.namespace, p.budget, p.budget_secrets) for p in plan.jobs if p.budget]
    for ns, cr, extra in owners:
        cr_name = cr["metadata"]["name"]
        budgets[cr_name] = BudgetConstraint(f"{ns}-{cr_name}", cr, extra, crd=crd, secrets=secrets,
                                            depends_on=[namespaces[ns]], skip_await=skip, opts=opts)
    for gate_input in pre.budgets:
        cid = gate_input["constraint_id"]
        gates[cid] = BudgetGate(f"budget-gate-{cid}", gate_input,
                                opts=pulumi.ResourceOptions(depends_on=[budgets[cid]]))
        gates[cid].deferred.apply(functools.partial(_say_deferred, cid))
    epochs = pre.epochs or {"jobs": [], "gpus": []}
    epoch_plan = EpochPlan("gpu-epochs", epochs) if epochs["jobs"] and epochs["gpus"] else None
    planned_gpu_jobs = {j["id"] for j in epochs["jobs"]}


    stacks: dict[str, B00tStack] = {}
    for sp in plan.stacks:
        gate = gates.get(sp.budget["metadata"]["name"]) if sp.budget else None
        stacks[sp.stack.name] = B00tStack(sp.stack.name, sp, skip_await=skip, secrets=secrets, budget_crd=crd,
                                          depends_on=[namespaces[sp.namespace]], budget_gate=gate,
                                          manage_budget=False, opts=opts)
    jobs: dict[str, B00tJob] = {}
    for jp in plan.jobs:
        needs = [stacks[s.name] for s in planner.required_stacks(jp.job) if s.name in stacks]
        deps = [namespaces[jp.namespace], *needs, *([kueue] if kueue else [])]
        named = jp.job_object["metadata"].get("annotations", {}).get("b00t.io/budget-constraint")
        jobs[jp.job.name] = B00tJob(jp.job.name, jp, skip_await=skip, secrets=secrets, budget_crd=crd,
                                    depends_on=deps, budget_gate=gates.get(named) if named else None,
                                    epoch_plan=epoch_plan if jp.job.name in planned_gpu_jobs else None,
                                    manage_budget=False, operator=settings.operator is not None, opts=opts)

    pulumi.export("stacks", {
        name: {
            "namespace": s.namespace,
            "endpoints": s.endpoints,
            "budget": None if not s.plan.budget else {
                "constraint": f"{s.namespace}/{s.plan.budget['metadata']['name']}",
                "dailyLimit": s.plan.budget["spec"]["dailyLimit"], "currency": s.plan.budget["spec"]["currency"],
                "onBudgetExceeded": s.plan.budget["spec"]["onBudgetExceeded"],
                "spend": gates[s.plan.budget["metadata"]["name"]].spend,
                "outcome": gates[s.plan.budget["metadata"]["name"]].outcome,
                "deferred": gates[s.plan.budget["metadata"]["name"]].deferred,
            },
        }
        for name, s in stacks.items()
    })
    pulumi.export("jobs", {name: {"namespace": j.namespace,
                                  "queue": j.plan.job_object["metadata"]["labels"].get("kueue.x-k8s.io/queue-name")}
                           for name, j in jobs.items()})
    if kueue:
        pulumi.export("clusterQueue", kueue.cluster_queue)
    if epoch_plan:
        pulumi.export("epochs", {"loads": epoch_plan.loads, "assignments": epoch_plan.assignments})
