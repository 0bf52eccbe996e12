"""The fake nodes of the local cluster, from the environment's settings.

One kwok node per ``b00t:gpuInventory`` node, with the capacity the NVIDIA device plugin advertises
under time-slicing (``nvidia.com/gpu`` = GPUs x slots), the labels GPU feature discovery puts on it
(b00t_pulumi.gpu.capacity, the function the planner's flavors and affinities use too) and the GPU
taint; plus one CPU-only node sized from the Kueue cpu/memory quota.
"""

from __future__ import annotations

from typing import Any

from b00t_pulumi.gpu.capacity import GPU_RESOURCE, GPU_TAINT, GpuCapacity
from b00t_pulumi.settings import EnvironmentSettings

KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
FAKE = "fake"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "b00t-local-cluster"
CPU_NODE = "b00t-cpu-0"
PODS_PER_NODE = "110"


def _node(name: str, labels: dict[str, str], capacity: dict[str, str],
          taints: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {KWOK_NODE_ANNOTATION: FAKE},
            "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "type": "kwok", MANAGED_BY_LABEL: MANAGED_BY, **labels,
            },
        },
        "spec": {"taints": taints} if taints else {},
        "status": {"capacity": capacity, "allocatable": dict(capacity)},
    }


def fake_nodes(settings: EnvironmentSettings) -> list[dict[str, Any]]:
    """Node objects for kwok: the GPU nodes of the inventory, then the CPU node."""
    capacity = GpuCapacity.from_inventory(settings.gpu_inventory)
    out: list[dict[str, Any]] = []
    for cls in capacity.classes:
        for n in cls.nodes:
            out.append(_node(n.name, capacity.node_labels(n),
                             {"cpu": n.cpu, "memory": n.memory, "pods": PODS_PER_NODE,
                              GPU_RESOURCE: str(n.gpus * cls.slots)},
                             [dict(GPU_TAINT)]))
    ks = settings.kueue
    out.append(_node(CPU_NODE, {}, {"cpu": ks.cpu, "memory": ks.memory, "pods": PODS_PER_NODE}, []))
    return out
