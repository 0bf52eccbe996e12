"""Plan the whole environment: every stack and job, then what they need together (namespaces, the
BudgetConstraint CRD, Kueue, time-slicing), and the checks across them (``Planner.plan_cluster``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b00t_pulumi.plan.planner import Planner


from b00t_pulumi.datum.models import DockerDatum, StackDatum
from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.gpu.capacity import GPU_RESOURCE
from b00t_pulumi.plan import crds, gpu, kueue, labels
from b00t_pulumi.plan.model import ClusterPlan, JobPlan
from b00t_pulumi.plan.needs import GpuNeed, where
from b00t_pulumi.plan.objects import K8sObject, namespace_object


def plan_cluster(planner: Planner) -> ClusterPlan:
    """Everything to deploy for the environment: stacks, jobs, Kueue, time-slicing, CRDs."""
    stacks = planner.selected_stacks()
    jobs = planner.selected_jobs(stacks)
    cp = ClusterPlan()
    nested = {planner.catalog.find(m).id for s in stacks for m in s.members  # type: ignore[union-attr]
              if isinstance(planner.catalog.find(m), StackDatum)}
    problems: list[Problem] = []
    for s in stacks:
        if s.id in nested:
            cp.notes.append(f"{s.id} is planned as part of the stack that includes it")
            continue
        try:
            cp.stacks.append(planner.plan_stack(s))
        except PlanError as exc:
            problems += exc.problems
    for j in jobs:
        try:
            cp.jobs.append(planner.plan_job(j))
        except PlanError as exc:
            problems += exc.problems
    if problems:
        raise PlanError(problems)
    check_collisions(planner, cp)
    namespaces = sorted({p.namespace for p in cp.stacks} | {p.namespace for p in cp.jobs})
    cp.namespaces = [namespace_object(n) for n in namespaces]
    if any(p.budget for p in cp.stacks) or any(p.budget for p in cp.jobs):
        cp.crds.append(crds.budget_constraint_crd())
    cp.kueue = plan_kueue(planner, cp)
    cp.time_slicing, notes = gpu.time_slicing(planner.capacity, planner.settings.time_slicing)
    cp.notes += notes
    if not cp.time_slicing and any(n.shared for n in all_needs(planner, cp)):
        cp.notes.append("GPU time-slicing is asked for but b00t:gpuInventory lists no node with slots > 1: "
                        "no device-plugin config is planned")
    return cp


def all_needs(planner: Planner, cp: ClusterPlan) -> list[GpuNeed]:
    out: list[GpuNeed] = []
    for sp in cp.stacks:
        out += planner.gpu_members(sp.stack, [m for m in planner.catalog.members(sp.stack)
                                           if isinstance(m, DockerDatum)]).values()
    for jp in cp.jobs:
        n = planner.job_gpu_need(jp.job)
        if n:
            out.append(n)
    return out


def queued(planner: Planner, cp: ClusterPlan) -> list[kueue.Queued]:
    """Every workload of the plan that joins a Kueue queue (Jobs, and Deployments of queued stacks)."""
    out: list[kueue.Queued] = []
    for jp in cp.jobs:
        if jp.job.orch.queue_name:
            out.append(kueue.Queued(f"job {jp.job.name}", where(jp.job), jp.namespace, jp.job.orch.queue_name,
                                    planner.job_gpu_need(jp.job)))
    for sp in cp.stacks:
        q = sp.stack.orch.queue_name
        if not q:
            continue
        dockers = [m for m in planner.catalog.members(sp.stack) if isinstance(m, DockerDatum)]
        needs = planner.gpu_members(sp.stack, dockers)
        for d in dockers:
            if d.image:
                out.append(kueue.Queued(f"deployment {d.name} of stack {sp.stack.name}", where(sp.stack),
                                        sp.namespace, q, needs.get(d.id)))
    return out


def plan_kueue(planner: Planner, cp: ClusterPlan) -> list[K8sObject]:
    """ResourceFlavors, the ClusterQueue (with the b00t-budget AdmissionCheck when budgets, GPU epochs
    or job dependencies apply) and a LocalQueue per namespace and queue."""
    in_queues = queued(planner, cp)
    gated = any(p.budget for p in cp.stacks) or any(p.budget for p in cp.jobs) \
        or any(n.epoch for n in all_needs(planner, cp)) or any(planner.epoch_gated(jp.job) for jp in cp.jobs) \
        or any(labels.AFTER_JOBS in (jp.job_object["metadata"].get("annotations") or {}) for jp in cp.jobs)
    if gated and in_queues and planner.settings.operator is None:
        cp.notes.append("no b00t:operator: the budgets, GPU epochs and job dependencies of queued Jobs are "
                        "checked at deploy time only (nothing answers a Kueue AdmissionCheck); see "
                        "docs/operator.md")
    op = planner.settings.operator
    if gated and in_queues and op is not None and not op.local and not op.image:
        cp.notes.append("b00t:operator sets neither local nor image: run `b00t-pulumi operator` for this "
                        "environment yourself, or Kueue keeps the ClusterQueue inactive (nothing answers its "
                        "b00t-budget AdmissionCheck)")
    held_ns = frozenset(jp.namespace for jp in cp.jobs if jp.job.orch.queue_name and held_by_gates(planner, jp)) \
        if planner.settings.operator is None else frozenset()
    return kueue.plan_kueue(in_queues, planner.capacity, planner.settings.kueue,
                            admission_check=gated and planner.settings.operator is not None,
                            held_queue_namespaces=held_ns,
                            held=held_gpu_slices(planner, cp, unqueued_only=True))


def held_gpu_slices(planner: Planner, cp: ClusterPlan, *, unqueued_only: bool = False) -> dict[str, int]:
    """GPU slices per type the plan's Deployments hold all the time (replicas, or an HPA's most, x GPUs
    per pod). The epoch scheduler plans jobs on what is left; Kueue's quota leaves out what Deployments
    outside Kueue hold (``unqueued_only``)."""
    held: dict[str, int] = {}
    for sp in cp.stacks:
        if unqueued_only and sp.stack.orch.queue_name:
            continue
        hpas = {o["metadata"]["name"]: o for o in sp.objects if o["kind"] == "HorizontalPodAutoscaler"}
        for o in sp.objects:
            if o["kind"] != "Deployment":
                continue
            limits = (o["spec"]["template"]["spec"]["containers"][0].get("resources") or {}).get("limits") or {}
            gpus = int(limits.get(GPU_RESOURCE, 0))
            gpu_type = (o["metadata"].get("annotations") or {}).get("b00t.io/gpu-type")
            if not gpus or not gpu_type:
                continue
            hpa = hpas.get(o["metadata"]["name"])
            replicas = int(hpa["spec"]["maxReplicas"] if hpa else o["spec"].get("replicas", 1))
            held[gpu_type] = held.get(gpu_type, 0) + gpus * replicas
    return held


def held_by_gates(planner: Planner, jp: JobPlan) -> bool:
    """A budget or a GPU epoch may hold this Job (the Pulumi gates decide at deploy time)."""
    ann = jp.job_object["metadata"].get("annotations") or {}
    return labels.BUDGET_ANNOTATION in ann or planner.epoch_gated(jp.job)


def check_collisions(planner: Planner, cp: ClusterPlan) -> None:
    seen: dict[tuple[str, str, str, str], str] = {}
    problems: list[Problem] = []
    for owner, objs in [(p.stack.id, p.all_objects()) for p in cp.stacks] + \
                       [(p.job.id, p.all_objects()) for p in cp.jobs]:
        for o in objs:
            k = (o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
            if k in seen and seen[k] != owner:
                problems.append(Problem(owner, "", f"{k[1]} {k[2]}/{k[3]} is also planned by {seen[k]}: "
                                        "deploy the stacks to different namespaces (b00t.orchestration.k8s."
                                        "namespace) or share the member through one stack"))
            seen.setdefault(k, owner)
    # A workload names its budget by name alone (b00t.io/budget-constraint), and the ledger counts by
    # that name: two BudgetConstraints of one name, even in two namespaces, would share one budget.
    budgets: dict[str, tuple[str, str]] = {}
    for owner_id, cr in [(p.stack.id, p.budget) for p in cp.stacks] + [(p.job.id, p.budget) for p in cp.jobs]:
        if cr is None:
            continue
        name, ns = cr["metadata"]["name"], cr["metadata"]["namespace"]
        if name in budgets and budgets[name][1] != ns:  # (the same namespace is reported above)
            problems.append(Problem(owner_id, "b00t.orchestration.budget_constraint",
                                    f"its budget is named {name}, as is the budget of {budgets[name][0]} in "
                                    f"namespace {budgets[name][1]}: workloads and the ledger name a budget by "
                                    "name only; rename one datum"))
        budgets.setdefault(name, (owner_id, ns))
    if problems:
        raise PlanError(problems)
