"""What the gates decide for one workload, as labels, annotations, ``suspend`` and ``replicas`` (pure).

The keys a workload gets are known before the gates run (which gates apply to it is static), so a
preview shows every other label and annotation as known — and the policy pack can read the cost
annotations — while the gate-decided values alone are "unknown until apply". Values that do not
apply are empty strings (e.g. ``b00t.io/deferred-until: ""`` when the budget did not defer it).

A Job the epoch plan places prefers the node of its planned GPU (a preferred node affinity on the
node's name, weight 100): its epoch's model is loaded there. Preferred, not required: where the
plan's picture of the cluster is off (a Deployment's pods on another node than the plan assumed),
the Job still runs.

A deferral holds until ``b00t.io/deferred-until``:
- a Job is created suspended; a queued one's ``suspend`` is Kueue's (it unsuspends on admission), so
  the b00t-budget AdmissionCheck holds it and the operator reads ``b00t.io/deferred-until``;
- a Deployment gets ``replicas: 0``, also one scaled by an HPA: the HPA controller does not scale a
  target at zero replicas (its floor, minReplicas, cannot lift it), and when the deferral ends the
  Deployment starts again at the HPA's floor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b00t_pulumi.plan.kueue import HELD_QUEUE
from b00t_pulumi.plan.labels import QUEUE_LABEL
from b00t_pulumi.plan.objects import K8sObject

EPOCH_LABEL = "b00t.io/epoch"
PLANNED_START = "b00t.io/planned-start"
PLANNED_GPU = "b00t.io/planned-gpu"
PLANNED_NODE = "b00t.io/planned-node"
SUSPENDED_UNTIL = "b00t.io/suspended-until"
EPOCH_DEFERRED = "b00t.io/epoch-deferred"
DEFERRED_UNTIL = "b00t.io/deferred-until"
EPOCH_ANNOTATIONS = (PLANNED_START, PLANNED_GPU, PLANNED_NODE, SUSPENDED_UNTIL, EPOCH_DEFERRED)
PREFERRED_NODES = "preferredDuringSchedulingIgnoredDuringExecution"  # in a pod's affinity.nodeAffinity
PLANNED_NODE_WEIGHT = 100


def planned_node_term(node: str) -> dict[str, Any]:
    """The preferred node affinity term for the node the epoch plan put a Job on (by node name)."""
    return {"weight": PLANNED_NODE_WEIGHT,
            "preference": {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}}


@dataclass(frozen=True)
class GateFields:
    labels: dict[str, str] = field(default_factory=dict)  # on the object and on its pods
    annotations: dict[str, str] = field(default_factory=dict)
    suspend: bool = False  # Jobs: wait for a later epoch or the next budget window
    deferred: bool = False  # the budget deferred it (Deployments: 0 replicas)

    def replicas(self, planned: int | None, hpa_floor: int | None) -> int | None:
        """A Deployment's replicas under this decision: 0 while deferred; else as planned, or the HPA's
        floor for a Deployment an HPA scales (None: leave replicas to the HPA)."""
        if self.deferred:
            return 0
        return planned if planned is not None else hpa_floor

    def job_suspend(self, planned: bool) -> bool:
        """An unqueued Job's ``suspend``: held by the gates, or by the planner (it waits for the Jobs
        it runs after, which the operator unsuspends it for)."""
        return self.suspend or planned

    def preferred_nodes(self, planned: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A Job's preferred node terms: the planner's, then its planned node's (when it has one)."""
        node = self.annotations.get(PLANNED_NODE, "")
        return [*planned, planned_node_term(node)] if node else list(planned)

    def job_queue(self, queue: str) -> str:
        """A queued Job's queue without the b00t operator: the held queue while the gates hold it (a
        queued Job's ``suspend`` is Kueue's, so it cannot hold it)."""
        return HELD_QUEUE if self.suspend else queue


def gate_fields(name: str, *, epoch: bool, budget: bool, assignment: dict[str, Any] | None,
                deferred: dict[str, Any] | None, kind: str = "Job") -> GateFields:
    """The decision for workload ``name`` (a ``kind``): ``epoch``/``budget`` say which gates apply to it."""
    labels: dict[str, str] = {}
    ann: dict[str, str] = {}
    suspend = False
    if epoch:
        a = assignment or {}
        labels[EPOCH_LABEL] = str(a.get("epoch") or "")[:63]
        ann[PLANNED_START] = str(a.get("start") or "")
        ann[PLANNED_GPU] = str(a.get("gpu") or "")
        ann[PLANNED_NODE] = str(a.get("node") or "")
        ann[EPOCH_DEFERRED] = str(a.get("deferred") or "")[:1000]
        waits = bool(a.get("suspend"))
        ann[SUSPENDED_UNTIL] = str(a.get("start") or "") if waits else ""
        suspend = suspend or waits
    is_deferred = False
    if budget:
        until = (deferred or {}).get(name)
        is_deferred = until is not None
        ann[DEFERRED_UNTIL] = str(until) if is_deferred else ""
        suspend = suspend or is_deferred
    return GateFields(labels, ann, suspend, is_deferred)


def apply_fields(obj: K8sObject, fields: GateFields, hpa_floor: int | None = None, *,
                 operator: bool = True) -> K8sObject:
    """The object with the decision applied (plain values; the Pulumi face applies the same rules as
    Output leaves). ``hpa_floor``: the minReplicas of the HPA that scales this Deployment, if one does.
    A queued Job keeps its ``suspend`` (Kueue's): with the b00t ``operator`` its b00t-budget
    AdmissionCheck reads the annotations; without it the Job joins the held queue while held."""
    out: K8sObject = _copy(obj)
    meta = out["metadata"]
    meta.setdefault("labels", {}).update(fields.labels)
    meta.setdefault("annotations", {}).update(fields.annotations)
    if fields.labels:
        out["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(fields.labels)
    if out["kind"] == "Job" and PLANNED_NODE in fields.annotations:  # the epoch gate applies to it
        pod = out["spec"]["template"].setdefault("spec", {})
        node_affinity = pod.setdefault("affinity", {}).setdefault("nodeAffinity", {})
        node_affinity[PREFERRED_NODES] = fields.preferred_nodes(node_affinity.get(PREFERRED_NODES, []))
    queue = meta.get("labels", {}).get(QUEUE_LABEL)
    if out["kind"] == "Job" and queue:
        if not operator:
            meta["labels"][QUEUE_LABEL] = fields.job_queue(queue)
    elif out["kind"] == "Job":
        out["spec"]["suspend"] = fields.job_suspend(bool(out["spec"].get("suspend")))
    elif out["kind"] == "Deployment":
        replicas = fields.replicas(out["spec"].get("replicas"), hpa_floor)
        if replicas is not None:
            out["spec"]["replicas"] = replicas
    return out


def hpa_floor(deployment: K8sObject, objects: list[K8sObject]) -> int | None:
    """minReplicas of the HPA that scales ``deployment`` among ``objects`` (None when none does)."""
    from b00t_pulumi.budget.cost import hpa_for

    hpa = hpa_for(deployment, objects)
    return None if hpa is None else int(hpa["spec"].get("minReplicas", 1))


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj
