"""GPU placement of pods and the NVIDIA time-slicing config, from the environment's GPU capacity model.

Pods need GPU nodes of their type: node affinity to the ``nvidia.com/gpu.product`` values GPU feature
discovery gives those nodes (b00t_pulumi.gpu.capacity), the GPU taint's toleration, and for a batch
group a preference for the node already running it (``topologyKey: kubernetes.io/hostname``: the
same node, so the same time-sliced GPU, rather than any node of the same model; FACTS section 2).
"""

from __future__ import annotations

from typing import Any

from b00t_pulumi.gpu.capacity import (
    CONFIG_LABEL,
    GPU_RESOURCE,
    GPU_TOLERATION,
    PRODUCT_LABEL,
    GpuCapacity,
)
from b00t_pulumi.gpu.products import products_of
from b00t_pulumi.plan.labels import BATCH_GROUP_LABEL, MODEL_ID_LABEL
from b00t_pulumi.plan.needs import GpuNeed
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta, namespace_object
from b00t_pulumi.settings import TimeSlicingSettings

HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"
__all__ = ["GPU_RESOURCE", "GPU_TOLERATION", "PRODUCT_LABEL", "scheduling", "time_slicing"]


def node_affinity(values: list[str]) -> dict[str, Any]:
    return {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": PRODUCT_LABEL, "operator": "In", "values": values}]}]}}


def batch_pod_affinity(group: str, model_id: str | None) -> dict[str, Any]:
    """Prefer the node already running this batch group: its GPU holds the model's weights."""
    exprs: list[dict[str, Any]] = [{"key": BATCH_GROUP_LABEL, "operator": "In", "values": [group]}]
    if model_id:
        exprs.append({"key": MODEL_ID_LABEL, "operator": "In", "values": [model_id]})
    return {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": exprs},
                                            "topologyKey": HOSTNAME_TOPOLOGY}}]}


def scheduling(pod: dict[str, Any], need: GpuNeed, capacity: GpuCapacity, where: str) -> None:
    """Affinity and tolerations of a pod with ``need`` (its type checked against the known GPUs)."""
    affinity: dict[str, Any] = {}
    if need.gpu_type:
        products_of(need.gpu_type, where=where)  # an unknown GPU name fails here, clearly
        values = capacity.affinity_products(need.gpu_type, shared=need.shared)
        if values:
            affinity["nodeAffinity"] = node_affinity(values)
    if need.batch_group:
        affinity["podAffinity"] = batch_pod_affinity(need.batch_group, need.model_id)
    if affinity:
        pod["affinity"] = affinity
    pod["tolerations"] = [dict(GPU_TOLERATION)]


def time_slicing_config(replicas: int | None) -> str:
    """The device plugin's config file (FACTS section 5), as a ConfigMap value; no sharing when None."""
    text = "version: v1\nflags:\n  migStrategy: none\n"
    if replicas is None:
        return text
    return text + (
        "sharing:\n"
        "  timeSlicing:\n"
        "    renameByDefault: false\n"
        "    failRequestsGreaterThanOne: true\n"
        "    resources:\n"
        f"    - name: {GPU_RESOURCE}\n"
        f"      replicas: {replicas}\n"
    )


def time_slicing(capacity: GpuCapacity, ts: TimeSlicingSettings) -> tuple[list[K8sObject], list[str]]:
    """The device-plugin ConfigMap (one key per shared node class, replicas = its slots), the namespace
    and ClusterPolicy patch when asked, and notes on what an admin must still do."""
    keys, default = capacity.config_keys()
    if not keys:
        return [], []
    notes: list[str] = []
    cm: K8sObject = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": meta(ts.config_name, ts.namespace, labels={"app.kubernetes.io/managed-by": MANAGED_BY},
                         annotations={"b00t.io/device-plugin-config-keys": ",".join(keys),
                                      "b00t.io/device-plugin-config-default": str(default)}),
        "data": {k: time_slicing_config(r) for k, r in keys.items()},
    }
    objs: list[K8sObject] = [cm]
    if ts.create_namespace:
        objs.insert(0, namespace_object(ts.namespace))
    if ts.patch_cluster_policy:
        objs.append({"apiVersion": "nvidia.com/v1", "kind": "ClusterPolicy", "metadata": {"name": "cluster-policy"},
                     "spec": {"devicePlugin": {"config": {"name": ts.config_name, "default": default}}}})
    else:
        notes.append(f"ConfigMap {ts.namespace}/{ts.config_name} is not referenced yet: point the GPU Operator at it "
                     f"(b00t:timeSlicing.patchClusterPolicy: true, or kubectl patch clusterpolicy cluster-policy "
                     f"--type merge -p '{{\"spec\":{{\"devicePlugin\":{{\"config\":{{\"name\":\"{ts.config_name}\","
                     f"\"default\":\"{default}\"}}}}}}}}')")
    labels = capacity.nodes_needing_config_label()
    if labels:
        notes.append("label the GPU nodes whose device-plugin config is not the default (the one manual step): "
                     + "; ".join(f"kubectl label node {n} {CONFIG_LABEL}={k} --overwrite" for n, k in labels))
    return objs, notes
