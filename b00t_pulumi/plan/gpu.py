"""GPU names: b00t GPU names (nvidia-a100) to NVIDIA GPU feature discovery product labels.

``nvidia.com/gpu.product`` is set by GPU feature discovery; with time-slicing and
``renameByDefault: false`` the value gets a ``-SHARED`` suffix (FACTS section 5).
"""

from __future__ import annotations

from typing import Any

from b00t_pulumi.errors import PlanError, Problem

PRODUCT_LABEL = "nvidia.com/gpu.product"
GPU_RESOURCE = "nvidia.com/gpu"
HOSTNAME_TOPOLOGY = "kubernetes.io/hostname"

# b00t GPU name -> product label values (the first is the flavor's node label).
GPU_PRODUCTS: dict[str, tuple[str, ...]] = {
    "nvidia-a100": ("NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-PCIE-40GB", "NVIDIA-A100-80GB-PCIe"),
    "nvidia-a100-40gb": ("NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-PCIE-40GB"),
    "nvidia-a100-80gb": ("NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-80GB-PCIe"),
    "nvidia-h100": ("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-NVL"),
    "nvidia-h200": ("NVIDIA-H200",),
    "nvidia-l4": ("NVIDIA-L4",),
    "nvidia-l40s": ("NVIDIA-L40S",),
    "nvidia-a10g": ("NVIDIA-A10G",),
    "nvidia-t4": ("Tesla-T4",),
    "nvidia-v100": ("Tesla-V100-SXM2-16GB", "Tesla-V100-SXM2-32GB", "Tesla-V100-PCIE-16GB"),
    "nvidia-rtx-4090": ("NVIDIA-GeForce-RTX-4090",),
    "nvidia-rtx-3090": ("NVIDIA-GeForce-RTX-3090",),
}


def products(gpu_type: str, *, shared: bool, where: str = "") -> list[str]:
    """Product label values a pod needing ``gpu_type`` may run on (with -SHARED when shared)."""
    names = GPU_PRODUCTS.get(gpu_type)
    if names is None:
        raise PlanError([Problem(where, "gpu_requirements.gpu_type",
                                 f"unknown GPU {gpu_type!r}; known: {', '.join(sorted(GPU_PRODUCTS))}")])
    out = list(names)
    if shared:
        out += [f"{n}-SHARED" for n in names]
    return out


def primary_product(gpu_type: str) -> str:
    return GPU_PRODUCTS[gpu_type][0]


def node_affinity(gpu_type: str, *, shared: bool, where: str = "") -> dict[str, Any]:
    return {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": PRODUCT_LABEL, "operator": "In",
                                       "values": products(gpu_type, shared=shared, where=where)}]}
            ]
        }
    }


def batch_pod_affinity(group: str, model_id: str | None) -> dict[str, Any]:
    """Prefer the node already running this batch group: its GPU holds the model's weights.

    ``topologyKey: kubernetes.io/hostname`` (not gpu.product, as the seed wrote): same node, so the
    same time-sliced GPU, rather than any node with the same GPU model (FACTS section 2).
    """
    exprs: list[dict[str, Any]] = [{"key": "b00t.io/gpu-batch-group", "operator": "In", "values": [group]}]
    if model_id:
        exprs.append({"key": "b00t.io/model-id", "operator": "In", "values": [model_id]})
    return {
        "preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {"labelSelector": {"matchExpressions": exprs},
                                                "topologyKey": HOSTNAME_TOPOLOGY}}
        ]
    }


GPU_TOLERATION: dict[str, str] = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
