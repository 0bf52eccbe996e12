"""What the planner returns: objects grouped the way the Pulumi components create them."""

from __future__ import annotations

from dataclasses import dataclass, field

from b00t_pulumi.datum.models import JobDatum, StackDatum
from b00t_pulumi.errors import Problem
from b00t_pulumi.plan.network import Endpoint
from b00t_pulumi.plan.objects import K8sObject, namespace_object, sort_for_apply


def _standalone(namespace: str, has_budget: bool, objects: list[K8sObject]) -> list[K8sObject]:
    """What applying one plan on its own needs first: its Namespace, and the CRD of its budget."""
    from b00t_pulumi.plan.crds import budget_constraint_crd

    return [namespace_object(namespace), *([budget_constraint_crd()] if has_budget else []), *objects]


@dataclass
class StackPlan:
    stack: StackDatum
    namespace: str
    objects: list[K8sObject] = field(default_factory=list)  # Secrets, PVCs, Deployments, Services, HPAs
    budget: K8sObject | None = None  # BudgetConstraint CR
    budget_secrets: list[K8sObject] = field(default_factory=list)  # its webhook Secret
    endpoints: list[Endpoint] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)  # keys without effect, unset variables, ...

    def all_objects(self) -> list[K8sObject]:
        return sort_for_apply([*self.objects, *self.budget_secrets, *([self.budget] if self.budget else [])])

    def standalone_objects(self) -> list[K8sObject]:
        """Everything ``kubectl apply`` needs for this stack alone (``stack to-k8s NAME``)."""
        return _standalone(self.namespace, self.budget is not None, self.all_objects())


@dataclass
class JobPlan:
    job: JobDatum
    namespace: str
    objects: list[K8sObject] = field(default_factory=list)  # the Job and its env Secret
    budget: K8sObject | None = None
    budget_secrets: list[K8sObject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def job_object(self) -> K8sObject:
        return next(o for o in self.objects if o["kind"] == "Job")

    def all_objects(self) -> list[K8sObject]:
        return sort_for_apply([*self.objects, *self.budget_secrets, *([self.budget] if self.budget else [])])

    def standalone_objects(self) -> list[K8sObject]:
        """Everything ``kubectl apply`` needs for this job alone (``job to-k8s NAME``)."""
        return _standalone(self.namespace, self.budget is not None, self.all_objects())


@dataclass
class ClusterPlan:
    namespaces: list[K8sObject] = field(default_factory=list)
    crds: list[K8sObject] = field(default_factory=list)
    kueue: list[K8sObject] = field(default_factory=list)
    time_slicing: list[K8sObject] = field(default_factory=list)  # ConfigMap (+ ClusterPolicy patch)
    stacks: list[StackPlan] = field(default_factory=list)
    jobs: list[JobPlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def all_notes(self) -> list[str]:
        """The planner's notes (members not deployed, bind mounts made PVCs, ...), each once."""
        notes = self.notes + [n for s in self.stacks for n in s.notes] + [n for j in self.jobs for n in j.notes]
        return list(dict.fromkeys(notes))

    def all_warnings(self) -> list[Problem]:
        """The plans' warnings (a key without effect where it stands, ...), each once."""
        seen: dict[str, Problem] = {}
        for p in [w for s in self.stacks for w in s.warnings] + [w for j in self.jobs for w in j.warnings]:
            seen.setdefault(str(p), p)
        return list(seen.values())

    def all_objects(self) -> list[K8sObject]:
        objs = [*self.namespaces, *self.crds, *self.kueue, *self.time_slicing]
        for s in self.stacks:
            objs += s.all_objects()
        for j in self.jobs:
            objs += j.all_objects()
        return sort_for_apply(objs)
