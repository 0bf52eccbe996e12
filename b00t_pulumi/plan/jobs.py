"""Plan one job: its Kubernetes Job (waiting for its stacks, queued, held by its gates or the jobs it
depends on), its env Secret and BudgetConstraint (``Planner.plan_job``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b00t_pulumi.plan.planner import Planner

from collections.abc import Mapping
from typing import Any

from b00t_pulumi.budget import cost as budget_cost
from b00t_pulumi.budget import items as budget_items
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.prices import PricingError
from b00t_pulumi.datum.models import JobDatum
from b00t_pulumi.datum.quantities import format_duration
from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.plan import containers, gpu, labels, workloads
from b00t_pulumi.plan.model import JobPlan
from b00t_pulumi.plan.needs import where as datum_where
from b00t_pulumi.simulation.durations import pod_annotations as simulated_run


def plan_job(planner: Planner, name_or_job: str | JobDatum, *, suspend: bool = False,
             extra_labels: Mapping[str, str] | None = None,
             extra_annotations: Mapping[str, str] | None = None) -> JobPlan:
    job = name_or_job if isinstance(name_or_job, JobDatum) else planner.catalog.job(name_or_job)
    where = datum_where(job)
    if not job.image:
        steps = len(job.workflow_steps)
        detail = f" (a workflow-style job with {steps} steps for b00t's runner)" if steps else ""
        raise PlanError([Problem(where, "b00t.image",
                                 f"required to plan a Kubernetes Job{detail}: set b00t.image and command")])
    ns = planner.namespace_for(job)
    plan = JobPlan(job=job, namespace=ns)
    warnings: list[Problem] = []
    jo = job.orch
    need = planner.job_gpu_need(job)
    if need:
        planner.check_need(need, where)
    warnings += containers.schedule_warnings(planner, job, need is not None)
    warnings += planner.epoch_warnings(job)
    job_labels = labels.of_job(job.name) | labels.schedule(jo) \
        | labels.gpu(need.batch_group if need else None, need.model_id if need else None) \
        | dict(extra_labels or {}) | labels.queue(jo.queue_name)

    init: list[dict[str, Any]] = []
    stack_env: dict[str, str] = {}
    for st in planner.required_stacks(job):
        sp = planner.plan_stack(st)
        if not sp.endpoints:
            plan.notes.append(f"{job.id} requires stack {st.name}, which has no Service: the job does not "
                              "wait for it")
        init += containers.waits(planner, sp.endpoints, st.name, job.id, plan.notes)
        for ep in sp.endpoints:
            stack_env[ep.env_name] = ep.url
    env, secret = containers.container_env(planner, job.name, job, [stack_env, job.env], ns, labels.of_job(job.name),
                                           warnings)
    if secret:
        plan.objects.append(secret)
    def field(key: str, value: str) -> str:
        return containers.expand_field(planner, job, key, value, warnings)

    c = workloads.container(
        job.name, field("b00t.image", job.image),
        command=[field(f"b00t.command[{i}]", a) for i, a in enumerate(job.command or [])],
        args=[field(f"b00t.args[{i}]", a) for i, a in enumerate(job.args)],
        env=env, res=workloads.resources(jo.resource_requirements, need))
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [c]}
    if init:
        pod["initContainers"] = init
    if need:
        gpu.scheduling(pod, need, planner.capacity, where)

    annotations = containers.gpu_annotations(need)
    budget = planner.job_budget(job)
    if budget:
        name, bc, owner = budget
        currency = owner.orch.currency
        annotations |= labels.budget(name, bc, currency)
        try:  # the one cost path (budget/cost.py), from the Job's own pod template
            cpj = Money(bc.cost_per_job, currency) if bc.cost_per_job is not None else None
            priced = budget_cost.price_workload(
                {"kind": "Job", "metadata": {"name": job.name, "annotations": annotations},
                 "spec": {"template": {"spec": pod}}},
                prices=planner.prices_for(currency), duration_s=jo.estimated_duration, cost_per_job=cpj,
                gpu_candidates=planner.gpu_candidates())
        except PricingError as exc:
            culprit = owner if any(k.startswith("b00t:prices") for k in exc.keys) else job
            problem = containers.pricing_problem(planner, culprit, exc, f"Job {job.name} (budget {name})")
            raise PlanError([problem]) from None
        annotations[budget_items.JOB_COST_ANNOTATION] = priced.cost.cents_up().to_json()
        annotations[budget_items.CURRENCY_ANNOTATION] = currency
        plan.notes += [f"{job.id}: {n}" for n in priced.notes] + list(priced.price_notes)
    if jo.estimated_duration:
        annotations["b00t.io/estimated-duration"] = format_duration(jo.estimated_duration)
    after = planner.job_dependencies(job)
    hold = suspend
    if after:
        annotations[labels.AFTER_JOBS] = ",".join(sorted(j.name for j in after))
        how = ("the b00t operator admits it through Kueue's b00t-budget AdmissionCheck" if jo.queue_name else
               "it is created suspended and the b00t operator unsuspends it")
        plan.notes.append(f"{job.id} starts after {annotations[labels.AFTER_JOBS]} succeed: {how} "
                          "(without the operator, use stack to-argo or to-tekton)")
        hold = hold or not jo.queue_name
    annotations.update(extra_annotations or {})
    pod_annotations = annotations | simulated_run(jo.estimated_duration, planner.settings.simulation)
    plan.objects.append(workloads.job(job.name, ns, job_labels, annotations, pod_annotations, pod, suspend=hold))
    if jo.budget_constraint:
        plan.budget, plan.budget_secrets = containers.budget_objects(planner, f"{job.name}-budget", ns, "Job", job,
                                                                     jo.budget_constraint, jo)
    containers.finish(plan, warnings)
    return plan
