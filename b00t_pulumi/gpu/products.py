"""b00t GPU names (``nvidia-a100``) and the GPU products NVIDIA GPU feature discovery reports for them.

GPU feature discovery (GFD) labels a node ``nvidia.com/gpu.product=<product>`` with the product name
NVML reports, spaces replaced by dashes, and ``nvidia.com/gpu.memory=<MiB>`` (FACTS section 5). A b00t
GPU name covers one or more products: ``nvidia-a100`` is any A100 (40 GB or 80 GB, SXM4 or PCIe).
"""

from __future__ import annotations

from dataclasses import dataclass

from b00t_pulumi.errors import PlanError, Problem


@dataclass(frozen=True)
class Product:
    """One GFD product: its label value and the memory GFD reports for it (MiB)."""

    name: str
    memory_mib: int


_A100_SXM4_40 = Product("NVIDIA-A100-SXM4-40GB", 40960)
_A100_SXM4_80 = Product("NVIDIA-A100-SXM4-80GB", 81920)
_A100_PCIE_40 = Product("NVIDIA-A100-PCIE-40GB", 40960)
_A100_PCIE_80 = Product("NVIDIA-A100-80GB-PCIe", 81920)
_H100_SXM = Product("NVIDIA-H100-80GB-HBM3", 81559)
_H100_PCIE = Product("NVIDIA-H100-PCIe", 81559)
_H100_NVL = Product("NVIDIA-H100-NVL", 95830)
_V100_SXM2_16 = Product("Tesla-V100-SXM2-16GB", 16384)
_V100_SXM2_32 = Product("Tesla-V100-SXM2-32GB", 32768)
_V100_PCIE_16 = Product("Tesla-V100-PCIE-16GB", 16384)

# b00t GPU name -> the products it covers; the first is the default product of an inventory node.
GPU_PRODUCTS: dict[str, tuple[Product, ...]] = {
    "nvidia-a100": (_A100_SXM4_40, _A100_SXM4_80, _A100_PCIE_40, _A100_PCIE_80),
    "nvidia-a100-40gb": (_A100_SXM4_40, _A100_PCIE_40),
    "nvidia-a100-80gb": (_A100_SXM4_80, _A100_PCIE_80),
    "nvidia-h100": (_H100_SXM, _H100_PCIE, _H100_NVL),
    "nvidia-h200": (Product("NVIDIA-H200", 143771),),
    "nvidia-l4": (Product("NVIDIA-L4", 23034),),
    "nvidia-l40s": (Product("NVIDIA-L40S", 46068),),
    "nvidia-a10g": (Product("NVIDIA-A10G", 23028),),
    "nvidia-t4": (Product("Tesla-T4", 15360),),
    "nvidia-v100": (_V100_SXM2_16, _V100_SXM2_32, _V100_PCIE_16),
    "nvidia-rtx-4090": (Product("NVIDIA-GeForce-RTX-4090", 24564),),
    "nvidia-rtx-3090": (Product("NVIDIA-GeForce-RTX-3090", 24576),),
}

SHARED_SUFFIX = "-SHARED"


def known_gpu_types() -> list[str]:
    return sorted(GPU_PRODUCTS)


def products_of(gpu_type: str, *, where: str = "", key: str = "gpu_requirements.gpu_type") -> tuple[Product, ...]:
    """The products ``gpu_type`` covers; an unknown name is a PlanError naming ``where`` and ``key``."""
    found = GPU_PRODUCTS.get(gpu_type)
    if found is None:
        raise PlanError([Problem(where, key, f"unknown GPU {gpu_type!r}; known: {', '.join(known_gpu_types())}")])
    return found


def product_named(gpu_type: str, name: str, *, where: str = "", key: str = "") -> Product:
    """The product ``name`` of ``gpu_type``; one the type does not cover is an error listing those it does."""
    for p in products_of(gpu_type, where=where, key=key):
        if p.name == name:
            return p
    allowed = ", ".join(p.name for p in products_of(gpu_type))
    raise PlanError([Problem(where, key, f"{name!r} is not a {gpu_type} product; {gpu_type} covers: {allowed}")])


def product_label_value(product: str, *, shared: bool) -> str:
    """``nvidia.com/gpu.product`` as GFD sets it: ``-SHARED`` appended on a time-sliced node when the
    sharing config has ``renameByDefault: false`` (the config this project deploys)."""
    return f"{product}{SHARED_SUFFIX}" if shared else product
