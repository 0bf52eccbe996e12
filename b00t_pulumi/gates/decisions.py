"""What the gates decide for one workload, as labels, annotations, ``suspend`` and ``replicas`` (pure).

The keys a workload gets are known before the gates run (which gates apply to it is static), so a
preview shows every other label and annotation as known — and the policy pack can read the cost
annotations — while the gate-decided values alone are "unknown until apply". Values that do not
apply are empty strings (e.g. ``b00t.io/deferred-until: ""`` when the budget did not defer it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b00t_pulumi.plan.objects import K8sObject

EPOCH_LABEL = "b00t.io/epoch"
PLANNED_START = "b00t.io/planned-start"
PLANNED_GPU = "b00t.io/planned-gpu"
PLANNED_NODE = "b00t.io/planned-node"
SUSPENDED_UNTIL = "b00t.io/suspended-until"
EPOCH_DEFERRED = "b00t.io/epoch-deferred"
DEFERRED_UNTIL = "b00t.io/deferred-until"
EPOCH_ANNOTATIONS = (PLANNED_START, PLANNED_GPU, PLANNED_NODE, SUSPENDED_UNTIL, EPOCH_DEFERRED)


@dataclass(frozen=True)
class GateFields:
    labels: dict[str, str] = field(default_factory=dict)  # on the object and on its pods
    annotations: dict[str, str] = field(default_factory=dict)
    suspend: bool = False  # Jobs: wait for a later epoch or the next budget window
    deferred: bool = False  # the budget deferred it (Deployments: 0 replicas)


def gate_fields(name: str, *, epoch: bool, budget: bool, assignment: dict[str, Any] | None,
                deferred: dict[str, Any] | None) -> GateFields:
    """The decision for workload ``name``: ``epoch``/``budget`` say which gates apply to it."""
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


def apply_fields(obj: K8sObject, fields: GateFields) -> K8sObject:
    """The object with the decision applied (plain values; the Pulumi face applies Output leaves)."""
    out: K8sObject = _copy(obj)
    meta = out["metadata"]
    meta.setdefault("labels", {}).update(fields.labels)
    meta.setdefault("annotations", {}).update(fields.annotations)
    if fields.labels:
        out["spec"]["template"].setdefault("metadata", {}).setdefault("labels", {}).update(fields.labels)
    if out["kind"] == "Job":
        out["spec"]["suspend"] = fields.suspend
    elif out["kind"] == "Deployment" and fields.deferred and "replicas" in out["spec"]:
        out["spec"]["replicas"] = 0
    return out


def _copy(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _copy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy(v) for v in obj]
    return obj
