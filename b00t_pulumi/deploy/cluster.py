"""``B00tCluster``: everything the project deploys, from datum paths and settings, gates included.

The Python program (``program.py``) is one B00tCluster; a YAML or TypeScript program that adds the
``b00t`` package gets the same component through Pulumi's component provider (``provider/``), so
the two paths run the same code and cannot drift.

No ``from __future__ import annotations``: Pulumi's component analyzer reads the annotations as types.
"""

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.deploy.args import B00tClusterArgs, EpochSummary, JobSummary, StackSummary, plain, settings_config
from b00t_pulumi.deploy.components import B00tJob, B00tStack, BudgetConstraint, GpuTimeSlicing, KueueQueues
from b00t_pulumi.deploy.config import config_source, config_values, has_kubernetes_config, kubernetes_provider
from b00t_pulumi.deploy.resources import SecretResolver, create
from b00t_pulumi.errors import B00tError
from b00t_pulumi.gates.budget_gate import BudgetGate
from b00t_pulumi.gates.epoch_plan import EpochPlan
from b00t_pulumi.plan.model import ClusterPlan, StackPlan
from b00t_pulumi.plan.planner import Planner
from b00t_pulumi.settings import EnvironmentSettings, settings_from_config


@dataclass
class PlanContext:
    """What a component plans with: settings, the loaded datums, the planner, secrets and ledger."""

    settings: EnvironmentSettings
    planner: Planner
    secrets: SecretResolver
    ledger: str

    def gate_input_of(self, plan: StackPlan) -> dict[str, Any] | None:
        """The budget gate input of one stack planned alone (None without a budget)."""
        from b00t_pulumi.gates.inputs import budget_inputs

        if not plan.budget:
            return None
        name = plan.budget["metadata"]["name"]
        return next(g for g in budget_inputs(self.planner, ClusterPlan(stacks=[plan]), self.ledger)
                    if g["constraint_id"] == name)


def plan_context(args: Mapping[str, Any], owner: str) -> PlanContext:
    """Settings from ``args`` (else the stack's ``b00t:*`` config), datums loaded and checked."""
    from b00t_pulumi.budget import default_ledger_url
    from b00t_pulumi.gates.inputs import absolute_ledger_url

    config, config_secrets = config_values()
    given = args.get("settings")
    ours = settings_config(given, args.get("datum_paths"), owner, config)
    settings = settings_from_config(ours, source=config_source() if given is None else f"{owner}: settings")
    catalog = Catalog.load([Path(p) for p in settings.datum_paths])
    for w in catalog.warnings:
        pulumi.log.warn(str(w))
    catalog.raise_for_errors()
    secrets = {**config_secrets, **dict(args.get("secrets") or {})}
    ledger = absolute_ledger_url(settings.ledger or default_ledger_url(), Path.cwd())
    return PlanContext(settings, Planner(catalog, settings, environ=os.environ), SecretResolver(secrets), ledger)


class B00tCluster(pulumi.ComponentResource):
    """Everything the b00t datums deploy to one cluster: Namespaces, the BudgetConstraint CRD, Kueue
    queues, NVIDIA time-slicing, every stack and job, and the gates (a BudgetGate per budget, the
    EpochPlan of the GPU jobs) that preview and up go through. One per Pulumi stack."""

    TYPE = "b00t:index:B00tCluster"

    stacks: pulumi.Output[dict[str, StackSummary]]
    """Stack name -> namespace, endpoints, and budget with the gate's decision."""
    jobs: pulumi.Output[dict[str, JobSummary]]
    """Job name -> namespace and Kueue queue."""
    cluster_queue: pulumi.Output[str] | None
    """The Kueue ClusterQueue, when jobs use Kueue."""
    epochs: pulumi.Output[EpochSummary] | None
    """The GPU epoch plan, when there are GPU jobs and a GPU inventory."""
    notes: pulumi.Output[list[str]]
    """What the planner noted (members not deployed, bind mounts made PVCs, ...), each once."""

    def __init__(self, name: str, args: B00tClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(self.TYPE, name, {}, opts)
        ctx = plan_context(args, owner=f"B00tCluster {name}")
        planner, settings, secrets, skip = ctx.planner, ctx.settings, ctx.secrets, ctx.settings.skip_await
        # The checks `b00t-pulumi validate` runs too (the budget projections run in each BudgetGate's check).
        from b00t_pulumi.gates.preflight import preflight

        pre = preflight(planner, Path.cwd(), ledgers=False)
        if pre.errors or pre.plan is None:
            raise B00tError(pre.errors)
        plan = pre.plan
        for w in pre.problems:
            pulumi.log.warn(str(w), resource=self)
        for note in plan.all_notes():  # once each, even when several stacks share a member
            pulumi.log.info(note, resource=self)

        kubeconfig = plain(args.get("kubeconfig"), "kubeconfig", f"B00tCluster {name}")
        context = plain(args.get("context"), "context", f"B00tCluster {name}")
        child = pulumi.ResourceOptions(parent=self)
        if kubeconfig or context or has_kubernetes_config():
            provider = kubernetes_provider(kubeconfig=kubeconfig, context=context, opts=child)
            opts_k8s = pulumi.ResourceOptions(parent=self, provider=provider)
        else:
            opts_k8s = child  # the provider this component inherits (the default one)

        namespaces = {o["metadata"]["name"]: create(o, opts_k8s, skip_await=skip) for o in plan.namespaces}
        ns_list = list(namespaces.values())
        crd = BudgetConstraint.definition(opts_k8s, skip_await=skip) if plan.crds else None
        kueue = KueueQueues("kueue", plan.kueue, depends_on=ns_list, skip_await=skip,
                            opts=opts_k8s) if plan.kueue else None
        if plan.time_slicing:
            GpuTimeSlicing("gpu-time-slicing", plan.time_slicing, skip_await=skip, opts=opts_k8s)
        _operator(settings, plan, opts_k8s, skip, ns_list)

        # Budgets first: each BudgetConstraint CR, then its gate; workloads wait for their gate.
        budgets: dict[str, BudgetConstraint] = {}
        gates: dict[str, BudgetGate] = {}
        owners = [(p.namespace, p.budget, p.budget_secrets) for p in plan.stacks if p.budget] + \
                 [(p.namespace, p.budget, p.budget_secrets) for p in plan.jobs if p.budget]
        for ns, cr, extra in owners:
            cr_name = cr["metadata"]["name"]
            budgets[cr_name] = BudgetConstraint(f"{ns}-{cr_name}", cr, extra, crd=crd, secrets=secrets,
                                                depends_on=[namespaces[ns]], skip_await=skip, opts=opts_k8s)
        for gate_input in pre.budgets:
            cid = gate_input["constraint_id"]
            gates[cid] = BudgetGate(f"budget-gate-{cid}", gate_input,
                                    opts=pulumi.ResourceOptions(parent=self, depends_on=[budgets[cid]]))
            gates[cid].deferred.apply(functools.partial(_say_deferred, cid))
        epochs = pre.epochs or {"jobs": [], "gpus": []}
        epoch_plan = EpochPlan("gpu-epochs", epochs, opts=child) if epochs["jobs"] and epochs["gpus"] else None
        planned_gpu_jobs = {j["id"] for j in epochs["jobs"]}

        stacks: dict[str, B00tStack] = {}
        for sp in plan.stacks:
            gate = gates.get(sp.budget["metadata"]["name"]) if sp.budget else None
            stacks[sp.stack.name] = B00tStack.from_plan(
                sp.stack.name, sp, skip_await=skip, secrets=secrets, budget_crd=crd,
                depends_on=[namespaces[sp.namespace]], budget_gate=gate, manage_budget=False, opts=opts_k8s)
        jobs: dict[str, B00tJob] = {}
        for jp in plan.jobs:
            needs = [stacks[s.name] for s in planner.required_stacks(jp.job) if s.name in stacks]
            deps = [namespaces[jp.namespace], *needs, *([kueue] if kueue else [])]
            named = jp.job_object["metadata"].get("annotations", {}).get("b00t.io/budget-constraint")
            jobs[jp.job.name] = B00tJob(jp.job.name, jp, skip_await=skip, secrets=secrets, budget_crd=crd,
                                        depends_on=deps, budget_gate=gates.get(named) if named else None,
                                        epoch_plan=epoch_plan if jp.job.name in planned_gpu_jobs else None,
                                        manage_budget=False, operator=settings.operator is not None,
                                        opts=opts_k8s)

        def summary(sp: StackPlan) -> dict[str, Any]:
            out: dict[str, Any] = {"namespace": sp.namespace, "endpoints": {e.member: e.url for e in sp.endpoints}}
            if sp.budget:
                spec, gate = sp.budget["spec"], gates[sp.budget["metadata"]["name"]]
                out["budget"] = {"constraint": f"{sp.namespace}/{sp.budget['metadata']['name']}",
                                 "dailyLimit": spec["dailyLimit"], "currency": spec["currency"],
                                 "onBudgetExceeded": spec["onBudgetExceeded"], "spend": gate.spend,
                                 "outcome": gate.outcome, "deferred": gate.deferred}
            return out

        self.stacks = _output({sp.stack.name: summary(sp) for sp in plan.stacks})
        self.jobs = _output({name: {"namespace": j.namespace, **({"queue": j.queue} if j.queue else {})}
                             for name, j in jobs.items()})
        self.cluster_queue = _output(kueue.cluster_queue) if kueue and kueue.cluster_queue else None
        self.epochs = _output({"loads": epoch_plan.loads, "assignments": epoch_plan.assignments}) \
            if epoch_plan else None
        self.notes = _output(plan.all_notes())
        self.register_outputs({"stacks": self.stacks, "jobs": self.jobs, "clusterQueue": self.cluster_queue,
                               "epochs": self.epochs, "notes": self.notes})


def _output(value: Any) -> pulumi.Output[Any]:
    """``value`` (plain, or holding Outputs) as one Output."""
    return pulumi.Output.from_input(value)


def _say_deferred(constraint_id: str, deferred: dict[str, str] | None) -> None:
    """Each workload a budget deferred, and when it may start (also its b00t.io/deferred-until)."""
    for name, until in sorted((deferred or {}).items()):
        pulumi.log.warn(f"{name}: deferred by budget {constraint_id} until {until} (the next window); "
                        "a queued Job waits for its admission check or in the held queue, an unqueued one "
                        "suspended, a Deployment at 0 replicas")


def _operator(settings: Any, plan: Any, opts: pulumi.ResourceOptions, skip: bool,
              namespaces: list[Any]) -> None:
    """The b00t operator as a Deployment when ``b00t:operator.image`` is set (docs/operator.md)."""
    from b00t_pulumi.deploy.components import B00tOperator
    from b00t_pulumi.operator.deploy import operator_objects

    budgets = [(p.namespace, p.budget) for p in plan.stacks] + [(p.namespace, p.budget) for p in plan.jobs]
    objs = operator_objects(settings, [ns for ns, cr in budgets if cr and "webhookSecretRef" in cr["spec"]])
    if objs:
        B00tOperator("b00t-operator", objs, depends_on=namespaces, skip_await=skip, opts=opts)
