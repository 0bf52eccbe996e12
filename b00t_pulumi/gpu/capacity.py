"""The GPU capacity model of an environment: one source for every number and label about GPU nodes.

``b00t:gpuInventory`` lists the GPU nodes. Nodes of one type, product and slot count form a
``NodeClass``; from the classes come, and only from here:

- the labels GPU feature discovery puts on such a node under the time-slicing config this project
  deploys (``node_labels``), which the local cluster's fake nodes carry;
- each Kueue GPU ResourceFlavor (``flavor_name``, ``flavor_node_labels``: labels every node of the
  class carries, a conjunction) and its nominal quota (``slices``);
- the device-plugin config key and time-slicing ``replicas`` of the class (= its slots);
- the product values a pod's node affinity accepts (``affinity_products``);
- the GPUs and slots the epoch scheduler plans onto (``scheduler_gpus``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from b00t_pulumi.datum.quantities import to_dns1123
from b00t_pulumi.gpu.products import GPU_PRODUCTS, Product, product_label_value
from b00t_pulumi.settings.model import GpuInventory, GpuNode

GPU_RESOURCE = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
COUNT_LABEL = "nvidia.com/gpu.count"
REPLICAS_LABEL = "nvidia.com/gpu.replicas"
SHARING_LABEL = "nvidia.com/gpu.sharing-strategy"
MEMORY_LABEL = "nvidia.com/gpu.memory"
CONFIG_LABEL = "nvidia.com/device-plugin.config"
# The taint GPU nodes carry (the GPU Operator's usual setup) and that GPU pods and flavors tolerate.
GPU_TAINT: dict[str, str] = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
GPU_TOLERATION: dict[str, str] = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}
# The device-plugin config key of nodes that do not share their GPUs, when other nodes do.
EXCLUSIVE_CONFIG_KEY = "exclusive"


@dataclass(frozen=True)
class NodeClass:
    """GPU nodes that look alike to Kueue and the scheduler: same type, product and slots per GPU."""

    name: str  # Kueue ResourceFlavor name and device-plugin config key
    gpu_type: str
    product: Product
    slots: int
    nodes: tuple[GpuNode, ...]

    @property
    def shared(self) -> bool:
        """Time-sliced: the device plugin advertises ``slots`` replicas per GPU."""
        return self.slots > 1

    @property
    def product_label(self) -> str:
        return product_label_value(self.product.name, shared=self.shared)

    @property
    def gpus(self) -> int:
        return sum(n.gpus for n in self.nodes)

    @property
    def slices(self) -> int:
        """``nvidia.com/gpu`` the class's nodes advertise together: GPUs x slots."""
        return self.gpus * self.slots

    @property
    def flavor_node_labels(self) -> dict[str, str]:
        """Labels every node of the class carries: product (with -SHARED when shared) and replicas."""
        return {PRODUCT_LABEL: self.product_label, REPLICAS_LABEL: str(self.slots)}

    def node_labels(self, node: GpuNode) -> dict[str, str]:
        """What GPU feature discovery labels ``node`` with under this project's sharing config, plus
        the device-plugin config key the node uses (the one label an admin sets; see config_keys)."""
        labels = {
            PRODUCT_LABEL: self.product_label,
            COUNT_LABEL: str(node.gpus),
            REPLICAS_LABEL: str(self.slots),
            SHARING_LABEL: "time-slicing" if self.shared else "none",
            MEMORY_LABEL: str(self.product.memory_mib),
        }
        return labels


@dataclass(frozen=True)
class SchedulerGpu:
    """One physical GPU as the epoch scheduler sees it."""

    id: str
    node: str
    gpu_type: str
    slots: int


class GpuCapacity:
    """The node classes of an inventory, in inventory order."""

    def __init__(self, classes: Sequence[NodeClass]) -> None:
        self.classes: tuple[NodeClass, ...] = tuple(classes)

    @classmethod
    def from_inventory(cls, inventory: GpuInventory) -> GpuCapacity:
        groups: dict[tuple[str, str, int], list[GpuNode]] = {}
        for n in inventory.nodes:
            groups.setdefault((n.gpu_type, n.product_name, n.slots), []).append(n)
        per_type: dict[str, int] = {}
        for t, _, _ in groups:
            per_type[t] = per_type.get(t, 0) + 1
        classes: list[NodeClass] = []
        for (t, product, slots), nodes in groups.items():
            prod = next(p for p in GPU_PRODUCTS[t] if p.name == product)
            name = t if per_type[t] == 1 else to_dns1123(f"{t}-{product}-x{slots}")
            classes.append(NodeClass(name, t, prod, slots, tuple(nodes)))
        return cls(classes)

    # ------------------------------------------------------------------ questions by GPU type
    def types(self) -> list[str]:
        return sorted({c.gpu_type for c in self.classes})

    def classes_of(self, gpu_type: str) -> list[NodeClass]:
        return [c for c in self.classes if c.gpu_type == gpu_type]

    def slices(self, gpu_type: str) -> int:
        return sum(c.slices for c in self.classes_of(gpu_type))

    def max_slots(self, gpu_type: str) -> int:
        return max((c.slots for c in self.classes_of(gpu_type)), default=0)

    def affinity_products(self, gpu_type: str, *, shared: bool) -> list[str]:
        """``nvidia.com/gpu.product`` values a pod needing ``gpu_type`` may run on.

        With an inventory: the classes of that type the pod may use (a shared pod may use an
        unshared GPU too; an unshared pod never a time-sliced one). Without an inventory for the
        type: every product of the type, with -SHARED variants when the pod may share.
        """
        classes = [c for c in self.classes_of(gpu_type) if shared or not c.shared]
        if classes:
            return list(dict.fromkeys(c.product_label for c in classes))
        names = [p.name for p in GPU_PRODUCTS.get(gpu_type, ())]
        return names + ([product_label_value(n, shared=True) for n in names] if shared else [])

    # ------------------------------------------------------------------ nodes
    def class_of_node(self, name: str) -> NodeClass | None:
        return next((c for c in self.classes for n in c.nodes if n.name == name), None)

    def config_keys(self) -> tuple[dict[str, int | None], str | None]:
        """Device-plugin config keys (key -> time-slicing replicas, None for no sharing) and the default key.

        One key per shared class; when some classes share and others do not, an ``exclusive`` key with
        no sharing is the default, so that an unlabelled node never time-slices by mistake.
        """
        shared = {c.name: c.slots for c in self.classes if c.shared}
        if not shared:
            return {}, None
        keys: dict[str, int | None] = dict(shared)
        if any(not c.shared for c in self.classes):
            keys[EXCLUSIVE_CONFIG_KEY] = None
            return keys, EXCLUSIVE_CONFIG_KEY
        return keys, next(iter(shared))

    def node_config_key(self, node: GpuNode) -> str | None:
        """The ``nvidia.com/device-plugin.config`` key of ``node`` (None when there is no sharing config)."""
        keys, _ = self.config_keys()
        if not keys:
            return None
        cls = self.class_of_node(node.name)
        return cls.name if cls is not None and cls.shared else EXCLUSIVE_CONFIG_KEY

    def nodes_needing_config_label(self) -> list[tuple[str, str]]:
        """(node, key) for every node whose config key is not the default: the one manual step."""
        _, default = self.config_keys()
        out: list[tuple[str, str]] = []
        for c in self.classes:
            for n in c.nodes:
                key = self.node_config_key(n)
                if key is not None and key != default:
                    out.append((n.name, key))
        return out

    def node_labels(self, node: GpuNode) -> dict[str, str]:
        """GFD's labels of ``node`` plus its device-plugin config key label (when there is one)."""
        cls = self.class_of_node(node.name)
        if cls is None:
            raise KeyError(node.name)
        labels = cls.node_labels(node)
        key = self.node_config_key(node)
        if key is not None:
            labels[CONFIG_LABEL] = key
        return labels

    # ------------------------------------------------------------------ epoch scheduler
    def scheduler_gpus(self, held: Mapping[str, int] | None = None) -> list[SchedulerGpu]:
        """Physical GPUs with the slots the epoch scheduler may plan on: a node class's slots, minus
        ``held`` slices per GPU type (Deployments that hold a slice all the time), taken from the
        GPUs in inventory order. A GPU with no slot left is not planned on."""
        left = dict(held or {})
        out: list[SchedulerGpu] = []
        for c in self.classes:
            for n in c.nodes:
                for i in range(n.gpus):
                    slots = c.slots
                    take = min(slots, left.get(c.gpu_type, 0))
                    if take:
                        left[c.gpu_type] -= take
                        slots -= take
                    if slots:
                        out.append(SchedulerGpu(f"{n.name}-gpu{i}", n.name, c.gpu_type, slots))
        return out
