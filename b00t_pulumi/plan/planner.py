"""The planner: datums + environment settings -> Kubernetes object dicts with stable names.

Pure: no pulumi, no network. The CLI prints these objects; the Pulumi components create them.
``Planner`` holds the decisions shared by every plan (namespaces, GPU needs and what the GPU nodes
can give them, prices, job dependencies); one module plans each thing (``stacks``, ``jobs``,
``cluster``), with what containers get from ``containers``, the objects from one builder per kind
(workloads, network, storage, kueue, gpu, crds) and the labels every object carries from ``labels``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property

from b00t_pulumi.budget import items as budget_items
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.prices import PriceList, price_list
from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import Datum, DockerDatum, JobDatum, StackDatum
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.gpu.capacity import GpuCapacity
from b00t_pulumi.plan import cluster, jobs, kueue, stacks
from b00t_pulumi.plan.model import ClusterPlan, JobPlan, StackPlan
from b00t_pulumi.plan.needs import GpuNeed, job_need, member_needs, where
from b00t_pulumi.plan.needs import required_stacks as _required_stacks
from b00t_pulumi.plan.objects import K8sObject
from b00t_pulumi.settings import EnvironmentSettings

DEFAULT_NAMESPACE = "default"
class Planner:
    """Plans stacks, jobs and the cluster-wide objects (Kueue, time-slicing, CRDs)."""

    def __init__(self, catalog: Catalog, settings: EnvironmentSettings | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.settings = settings or EnvironmentSettings()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    @cached_property
    def capacity(self) -> GpuCapacity:
        """The environment's GPU capacity model (b00t_pulumi.gpu.capacity)."""
        return GpuCapacity.from_inventory(self.settings.gpu_inventory)

    # ------------------------------------------------------------------ decisions
    def namespace_for(self, d: StackDatum | JobDatum) -> str:
        """The environment's namespace wins; else the datum's; else a required stack's; else default."""
        if self.settings.namespace:
            return self.settings.namespace
        if d.orch.k8s and d.orch.k8s.namespace:
            return d.orch.k8s.namespace
        if isinstance(d, JobDatum):
            for st in self.required_stacks(d):
                return self.namespace_for(st)
        return DEFAULT_NAMESPACE

    def required_stacks(self, job: JobDatum) -> list[StackDatum]:
        return _required_stacks(self.catalog, job)

    def gpu_members(self, stack: StackDatum, dockers: list[DockerDatum]) -> dict[str, GpuNeed]:
        return member_needs(self.catalog, stack, dockers)

    def job_gpu_need(self, job: JobDatum) -> GpuNeed | None:
        return job_need(self.catalog, job)

    def check_need(self, need: GpuNeed, where: str) -> None:
        """What the GPU nodes of the environment cannot give ``need``: an error before anything is created."""
        req = need.requirements
        if req.shared and req.count > 1:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.count",
                                     f"a time-sliced GPU is requested one at a time (failRequestsGreaterThanOne): "
                                     f"count is {req.count}; use count = 1 or shared = false")])
        t = need.gpu_type
        if not t or not self.settings.gpu_inventory.nodes or not req.count:
            return
        classes = self.capacity.classes_of(t)
        if not classes:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.gpu_type",
                                     f"{t}: b00t:gpuInventory has no {t} node (it has "
                                     f"{', '.join(self.capacity.types()) or 'none'}): add one, or change gpu_type")])
        if not need.shared and all(c.shared for c in classes):
            listed = ", ".join(str(c.slots) for c in classes)
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.shared",
                                     f"every {t} node in b00t:gpuInventory is time-sliced (slots {listed}), so no pod "
                                     "gets a GPU of its own: set shared = true, or add a node with slots = 1")])
        slots = self.capacity.max_slots(t)
        if need.epoch and need.shared and need.epoch.max_concurrent_jobs > slots:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_epoch.max_concurrent_jobs",
                                     f"{need.epoch.max_concurrent_jobs} jobs at once on one {t} GPU, but its "
                                     f"time-slicing gives {slots} slots (b00t:gpuInventory slots): at most {slots}, "
                                     "or raise slots")])

    def epoch_warnings(self, d: Datum) -> list[Problem]:
        """``gpu_epoch.load_time_by_type`` entries that cannot apply where they stand: a GPU type
        b00t:gpuInventory does not have, or another than the one ``gpu_requirements.gpu_type`` pins."""
        e = d.orch.gpu_epoch
        if e is None or not e.load_time_by_type or not self.settings.gpu_inventory.nodes:
            return []
        have = self.capacity.types()
        pinned = d.orch.gpu_requirements.gpu_type if d.orch.gpu_requirements else None
        out: list[Problem] = []
        for t in sorted(e.load_time_by_type):
            key = f"b00t.orchestration.gpu_epoch.load_time_by_type.{t}"
            if t not in have:
                out.append(Problem(where(d), key, f"has no effect: b00t:gpuInventory has no {t} GPU (it has "
                                                  f"{', '.join(have)})", "warning"))
            elif pinned and t != pinned:
                out.append(Problem(where(d), key, f"has no effect: gpu_requirements.gpu_type pins {pinned}",
                                   "warning"))
        return out

    def epoch_gated(self, job: JobDatum) -> bool:
        """The GPU epoch plan places this Job (so it may hold it for a later epoch): a Job that needs
        GPUs, in an environment with a b00t:gpuInventory."""
        need = self.job_gpu_need(job)
        return bool(need and need.requirements.count and self.settings.gpu_inventory.nodes)

    # ------------------------------------------------------------------ prices (budget/cost.py)
    def prices_for(self, currency: str) -> PriceList:
        """``b00t:prices`` in a budget's currency (its ``error`` says when that needs a rate not set)."""
        return price_list(self.settings.prices, currency)

    def gpu_candidates(self) -> list[str]:
        """GPU types a pod that names none may land on: those of b00t:gpuInventory."""
        return self.settings.gpu_inventory.gpu_types()

    def job_budget(self, job: JobDatum) -> tuple[str, BudgetConstraint, StackDatum | JobDatum] | None:
        """The budget a job counts in: its own, else the first required stack's (name, constraint, owner)."""
        if job.orch.budget_constraint:
            return f"{job.name}-budget", job.orch.budget_constraint, job
        for st in self.required_stacks(job):
            if st.orch.budget_constraint:
                return f"{st.name}-budget", st.orch.budget_constraint, st
        return None

    def job_cost(self, job: JobDatum) -> Money | None:
        """A run's estimated cost, as planned (None for a job that is not planned or not priced)."""
        if not job.image:
            return None
        ann = self.plan_job(job).job_object["metadata"].get("annotations", {})
        if budget_items.JOB_COST_ANNOTATION not in ann:
            return None
        return Money.of(ann[budget_items.JOB_COST_ANNOTATION], ann.get(budget_items.CURRENCY_ANNOTATION, "USD"))


    # ------------------------------------------------------------------ jobs
    def job_dependencies(self, job: JobDatum) -> list[JobDatum]:
        """Jobs this job's ``depends_on`` names: it starts after they succeed."""
        out = []
        for ref in job.depends_on:
            target = self.catalog.find(ref)
            if isinstance(target, JobDatum) and target.id != job.id:
                out.append(target)
        return out


    # ------------------------------------------------------------------ cluster
    def selected_stacks(self) -> list[StackDatum]:
        wanted = self.settings.stacks
        all_stacks = sorted(self.catalog.stacks(), key=lambda s: s.name)
        if wanted is None:
            return all_stacks
        return [self.catalog.stack(n) for n in wanted]

    def selected_jobs(self, stacks: list[StackDatum]) -> list[JobDatum]:
        if self.settings.jobs is not None:
            return [self.catalog.job(n) for n in self.settings.jobs]
        names = {s.name for s in stacks}
        return sorted((j for j in self.catalog.jobs()
                       if j.image and all(r.removesuffix(".stack") in names for r in j.orch.requires_stacks)),
                      key=lambda j: j.name)

    # ------------------------------------------------------------------ plans (one module each)
    def plan_stack(self, name_or_stack: str | StackDatum) -> StackPlan:
        return stacks.plan_stack(self, name_or_stack)

    def plan_job(self, name_or_job: str | JobDatum, *, suspend: bool = False,
                 extra_labels: Mapping[str, str] | None = None,
                 extra_annotations: Mapping[str, str] | None = None) -> JobPlan:
        return jobs.plan_job(self, name_or_job, suspend=suspend, extra_labels=extra_labels,
                             extra_annotations=extra_annotations)

    def plan_cluster(self) -> ClusterPlan:
        return cluster.plan_cluster(self)

    def queued(self, cp: ClusterPlan) -> list[kueue.Queued]:
        return cluster.queued(self, cp)

    def plan_kueue(self, cp: ClusterPlan) -> list[K8sObject]:
        return cluster.plan_kueue(self, cp)

    def held_gpu_slices(self, cp: ClusterPlan, *, unqueued_only: bool = False) -> dict[str, int]:
        return cluster.held_gpu_slices(self, cp, unqueued_only=unqueued_only)
