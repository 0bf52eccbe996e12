"""Kueue v1beta2 objects: ResourceFlavors, one ClusterQueue, a LocalQueue per namespace and queue, and
the ``b00t-budget`` AdmissionCheck that the b00t operator answers.

GPU flavors are the node classes of the GPU capacity model (b00t_pulumi.gpu.capacity) of every GPU type
a queued workload requests; each flavor's nodeLabels are labels every node of its class carries, and
its quota is what those nodes advertise (GPUs x slots), capped by ``b00t:kueue.gpus``. A queued GPU
workload that names no type, or a type without GPUs or without quota, would wait forever: an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.gpu.capacity import GPU_RESOURCE, GPU_TOLERATION, GpuCapacity
from b00t_pulumi.plan.needs import GpuNeed
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta
from b00t_pulumi.settings import KueueSettings

API = "kueue.x-k8s.io/v1beta2"
ADMISSION_CHECK = "b00t-budget"
ADMISSION_CONTROLLER = "b00t.io/budget"
# Without the b00t operator, a queued Job its gates hold waits in this LocalQueue, whose ClusterQueue
# admits nothing (stopPolicy: Hold), until a later deploy moves it back to its own queue.
HELD_QUEUE = "b00t-held"


@dataclass(frozen=True)
class Queued:
    """A workload that joins a Kueue queue."""

    what: str  # "job sentiment-scoring", "deployment redis of stack marketing"
    where: str  # datum file, for messages
    namespace: str
    queue: str
    need: GpuNeed | None


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": MANAGED_BY}


def check_coverage(queued: list[Queued], capacity: GpuCapacity, ks: KueueSettings,
                   held: dict[str, int] | None = None) -> list[Problem]:
    """Queued GPU workloads Kueue could never admit: no type, no GPU of the type, a quota of 0."""
    problems: list[Problem] = []
    for q in queued:
        need = q.need
        if need is None or not need.count:
            continue
        key = "b00t.orchestration.gpu_requirements.gpu_type"
        if not need.gpu_type:
            problems.append(Problem(q.where, key, f"{q.what} is queued in {q.queue!r} and asks for {need.count} GPU(s) "
                                    "of no type: Kueue admits GPUs per flavor, so set gpu_type (e.g. nvidia-a100)"))
            continue
        t = need.gpu_type
        if not capacity.classes_of(t):
            problems.append(Problem(q.where, key, f"{q.what} is queued in {q.queue!r} for {t} GPUs, but "
                                    f"b00t:gpuInventory has no {t} node: add its nodes to b00t:gpuInventory.nodes "
                                    "(name, gpuType, gpus, slots) so the ClusterQueue gets quota for them"))
            continue
        if quota(t, capacity, ks, held) == 0:
            why = (f"b00t:kueue.gpus.{t} is 0" if ks.gpus.get(t) == 0 else
                   f"Deployments outside Kueue hold all {capacity.slices(t)} {t} GPU slices of b00t:gpuInventory")
            problems.append(Problem(q.where, key, f"{q.what} is queued for {t} GPUs, but {why}: Kueue would never "
                                    "admit it; raise the quota (b00t:kueue.gpus) or add GPUs to b00t:gpuInventory"))
        elif need.count > capacity.slices(t):
            problems.append(Problem(q.where, "b00t.orchestration.gpu_requirements.count",
                                    f"{q.what} asks for {need.count} {t} GPUs; the inventory has {capacity.slices(t)}"))
    return problems


def quota(gpu_type: str, capacity: GpuCapacity, ks: KueueSettings, held: dict[str, int] | None = None) -> int:
    """GPU quota of a type: the slices of its nodes less those Deployments outside Kueue hold, capped by
    ``b00t:kueue.gpus``."""
    total = max(0, capacity.slices(gpu_type) - (held or {}).get(gpu_type, 0))
    cap = ks.gpus.get(gpu_type)
    return total if cap is None else min(cap, total)


def flavor_quotas(gpu_type: str, capacity: GpuCapacity, ks: KueueSettings,
                  held: dict[str, int] | None = None) -> list[tuple[str, int]]:
    """(flavor, nominal quota) of each node class of ``gpu_type``; a lower quota goes to the classes in
    inventory order."""
    left = quota(gpu_type, capacity, ks, held)
    out: list[tuple[str, int]] = []
    for c in capacity.classes_of(gpu_type):
        q = min(c.slices, left)
        left -= q
        out.append((c.name, q))
    return out


def plan_kueue(queued: list[Queued], capacity: GpuCapacity, ks: KueueSettings, *,
               admission_check: bool, held: dict[str, int] | None = None,
               held_queue_namespaces: frozenset[str] = frozenset()) -> list[K8sObject]:
    """The Kueue objects for ``queued`` (nothing when nothing is queued). ``held``: GPU slices per type
    that Deployments outside Kueue hold. ``held_queue_namespaces``: namespaces whose gated Jobs need the
    held queue (environments without the b00t operator)."""
    if not queued:
        return []
    problems = check_coverage(queued, capacity, ks, held)
    if problems:
        raise PlanError(problems)
    gpu_types = sorted({q.need.gpu_type for q in queued if q.need and q.need.count and q.need.gpu_type})
    objs: list[K8sObject] = [{"apiVersion": API, "kind": "ResourceFlavor",
                              "metadata": meta(ks.default_flavor, labels=_labels()), "spec": {}}]
    gpu_flavors: list[dict[str, Any]] = []
    for t in gpu_types:
        quotas = dict(flavor_quotas(t, capacity, ks, held))
        for c in capacity.classes_of(t):
            objs.append({"apiVersion": API, "kind": "ResourceFlavor",
                         "metadata": meta(c.name, labels=_labels() | {"b00t.io/gpu-type": t}),
                         "spec": {"nodeLabels": c.flavor_node_labels, "tolerations": [dict(GPU_TOLERATION)]}})
            # quantities as strings, the way the API server stores them (an int would diff on every update)
            res: dict[str, Any] = {"name": GPU_RESOURCE, "nominalQuota": str(quotas[c.name])}
            if ks.borrowing_limit is not None:
                res["borrowingLimit"] = str(ks.borrowing_limit)
            gpu_flavors.append({"name": c.name, "resources": [res]})
    groups: list[dict[str, Any]] = [{
        "coveredResources": ["cpu", "memory"],
        "flavors": [{"name": ks.default_flavor, "resources": [
            {"name": "cpu", "nominalQuota": ks.cpu}, {"name": "memory", "nominalQuota": ks.memory}]}],
    }]
    if gpu_flavors:
        groups.append({"coveredResources": [GPU_RESOURCE], "flavors": gpu_flavors})
    spec: dict[str, Any] = {"namespaceSelector": {}, "queueingStrategy": ks.queueing_strategy,
                            "resourceGroups": groups}
    if ks.cohort:
        spec["cohortName"] = ks.cohort
    if admission_check:
        objs.append({"apiVersion": API, "kind": "AdmissionCheck", "metadata": meta(ADMISSION_CHECK, labels=_labels()),
                     "spec": {"controllerName": ADMISSION_CONTROLLER}})
        spec["admissionChecksStrategy"] = {"admissionChecks": [{"name": ADMISSION_CHECK}]}
    objs.append({"apiVersion": API, "kind": "ClusterQueue", "metadata": meta(ks.cluster_queue, labels=_labels()),
                 "spec": spec})
    for ns, q in sorted({(w.namespace, w.queue) for w in queued}):
        objs.append({"apiVersion": API, "kind": "LocalQueue", "metadata": meta(q, ns, labels=_labels()),
                     "spec": {"clusterQueue": ks.cluster_queue}})
    if held_queue_namespaces:
        held_cq = f"{ks.cluster_queue}-held"
        objs.append({"apiVersion": API, "kind": "ClusterQueue", "metadata": meta(held_cq, labels=_labels()),
                     "spec": {"namespaceSelector": {}, "stopPolicy": "Hold", "resourceGroups": groups}})
        for ns in sorted(held_queue_namespaces):
            objs.append({"apiVersion": API, "kind": "LocalQueue", "metadata": meta(HELD_QUEUE, ns, labels=_labels()),
                         "spec": {"clusterQueue": held_cq}})
    return objs
