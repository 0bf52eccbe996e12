"""The settings model (pydantic v2, camelCase keys as in Pulumi config)."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from b00t_pulumi.datum.orchestration import Currency, Money, Quantity
from b00t_pulumi.datum.quantities import check_dns1123
from b00t_pulumi.gpu.products import GPU_PRODUCTS, known_gpu_types

# OpenCost's default prices (FACTS section 11; its configs/default.json): defaults, never the truth.
DEFAULT_GPU_HOUR = Decimal("0.95")
DEFAULT_CPU_HOUR = Decimal("0.031611")  # per core-hour
DEFAULT_MEMORY_GIB_HOUR = Decimal("0.004237")  # per GiB-hour


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True)


class Prices(_Model):
    """``b00t:prices``: what a GPU-hour, a core-hour and a GiB-hour of memory cost, in one currency.

    ``rates`` converts them into other budget currencies, explicitly: ``{JPY: "151.20"}`` is 151.20 JPY
    per 1 ``currency``. A budget in a currency with no rate is an error, never a silent conversion.
    """

    currency: Currency = "USD"
    gpu_hour: dict[str, Money] = Field(default_factory=dict, description="b00t GPU name -> price per GPU-hour")
    default_gpu_hour: Money = Field(default=DEFAULT_GPU_HOUR, description="price of a GPU type not listed")
    cpu_hour: Money | None = Field(default=None, description="price per CPU core-hour; default OpenCost's 0.031611")
    memory_gib_hour: Money | None = Field(
        default=None, description="price per GiB-hour of memory; default OpenCost's 0.004237"
    )
    rates: dict[Currency, Money] = Field(
        default_factory=dict, description="currency -> units of it per 1 of `currency` (explicit conversion)"
    )

    @field_validator("rates")
    @classmethod
    def _positive_rates(cls, v: dict[str, Decimal]) -> dict[str, Decimal]:
        bad = sorted(k for k, r in v.items() if r <= 0)
        if bad:
            raise ValueError(f"a rate must be greater than 0: {', '.join(bad)}")
        return v

    def per_gpu_hour(self, gpu_type: str | None) -> Decimal:
        """The listed price of ``gpu_type``, else ``default_gpu_hour`` (in ``currency``)."""
        if gpu_type and gpu_type in self.gpu_hour:
            return self.gpu_hour[gpu_type]
        return self.default_gpu_hour


class GpuNode(_Model):
    """One GPU node: how many physical GPUs of which type and product, and time-slicing replicas per GPU.

    These fields are the GPU capacity model of the environment (b00t_pulumi.gpu): Kueue flavors and
    quotas, the time-slicing config, pod affinities, the epoch scheduler and the local cluster's fake
    nodes all derive from them.
    """

    name: str
    gpu_type: str
    product: str | None = Field(
        default=None,
        description="GPU feature discovery product name (NVIDIA-A100-SXM4-40GB, ...); default: the type's first",
    )
    gpus: int = Field(default=1, ge=1, le=64)
    slots: int = Field(default=1, ge=1, le=64, description="time-slicing replicas per GPU (1: not shared)")
    cpu: Quantity = Field(default="32", description="allocatable CPU of the node (the local cluster's fake node)")
    memory: Quantity = Field(default="256Gi", description="allocatable memory of the node")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns1123(v, 253)

    @field_validator("gpu_type")
    @classmethod
    def _gpu_type(cls, v: str) -> str:
        if v not in GPU_PRODUCTS:
            raise ValueError(f"unknown GPU {v!r}; known: {', '.join(known_gpu_types())}")
        return v

    @model_validator(mode="after")
    def _product(self) -> GpuNode:
        names = [p.name for p in GPU_PRODUCTS[self.gpu_type]]
        if self.product is not None and self.product not in names:
            raise ValueError(f"product {self.product!r} is not a {self.gpu_type} product; "
                             f"{self.gpu_type} covers: {', '.join(names)}")
        return self

    @property
    def product_name(self) -> str:
        return self.product or GPU_PRODUCTS[self.gpu_type][0].name


class GpuInventory(_Model):
    """``b00t:gpuInventory``: the GPUs the epoch scheduler may plan onto."""

    nodes: list[GpuNode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> GpuInventory:
        names = [n.name for n in self.nodes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"node names must be unique: {', '.join(dup)} repeated")
        return self

    def gpu_types(self) -> list[str]:
        return sorted({n.gpu_type for n in self.nodes})

    def total_gpus(self, gpu_type: str | None = None) -> int:
        return sum(n.gpus for n in self.nodes if gpu_type is None or n.gpu_type == gpu_type)


class KueueSettings(_Model):
    """``b00t:kueue``: the ClusterQueue jobs are admitted through (Kueue v1beta2)."""

    cluster_queue: str = "b00t-cluster-queue"
    cohort: str | None = None
    queueing_strategy: Literal["BestEffortFIFO", "StrictFIFO"] = "BestEffortFIFO"
    cpu: Quantity = "32"
    memory: Quantity = "128Gi"
    gpus: dict[str, int] = Field(
        default_factory=dict, description="b00t GPU name -> GPU quota; default: the inventory's count"
    )
    borrowing_limit: int | None = Field(default=None, ge=0, description="GPU borrowing limit (needs a cohort)")
    default_flavor: str = "default-flavor"

    @field_validator("cluster_queue", "cohort", "default_flavor")
    @classmethod
    def _names(cls, v: str | None) -> str | None:
        return None if v is None else check_dns1123(v)

    @model_validator(mode="after")
    def _cohort(self) -> KueueSettings:
        if self.borrowing_limit is not None and not self.cohort:
            raise ValueError("borrowingLimit needs a cohort: Kueue's CEL rule rejects it without cohortName")
        return self


class TimeSlicingSettings(_Model):
    """``b00t:timeSlicing``: where the NVIDIA device-plugin config goes."""

    namespace: str = "gpu-operator"
    config_name: str = "time-slicing-config"
    patch_cluster_policy: bool = Field(default=False, description="also point the GPU Operator ClusterPolicy at it")
    create_namespace: bool = Field(default=False, description="create the namespace (no GPU Operator installed yet)")


class SimulationSettings(_Model):
    """``b00t:simulation``: the environment runs on the local kwok cluster (dev only).

    Only then does the planner put kwok's stage annotations on Job pods (how long a fake pod runs);
    an environment without this key never carries them.
    """

    time_scale: float = Field(default=60.0, gt=0, le=1_000_000,
                              description="simulated seconds per real second (60: a 20-minute job runs 20 s)")


class OperatorSettings(_Model):
    """``b00t:operator``: the b00t operator runs for this environment (docs/operator.md).

    It answers Kueue's ``b00t-budget`` AdmissionCheck (budgets, epochs and job dependencies of queued
    Jobs), keeps BudgetConstraint status from real spend and releases held Jobs and Deployments. Only
    with this key does the planner make the AdmissionCheck: a check nothing answers would keep the
    ClusterQueue inactive.
    """

    local: bool = Field(default=False, description="run as a local process against the cluster (make up, dev)")
    image: str | None = Field(default=None, description="deploy it into the cluster from this image "
                                                        "(b00t-pulumi[operator] installed)")
    namespace: str = Field(default="b00t-system", description="namespace of the deployed operator")
    create_namespace: bool = True
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    pending_max_s: float = Field(default=5.0, ge=0, description="holds shorter than this keep Kueue quota")
    poll_s: int = Field(default=10, ge=1, description="seconds before a hold nothing wakes is looked at again")

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str) -> str:
        return check_dns1123(v)


class EnvironmentSettings(_Model):
    """Everything that differs per environment (``Pulumi.<env>.yaml``)."""

    datum_paths: list[str] = Field(default_factory=lambda: ["stacks", "components"])
    stacks: list[str] | None = Field(default=None, description="stack names to deploy; default all")
    jobs: list[str] | None = Field(default=None, description="job names to deploy; default all")
    namespace: str | None = Field(default=None, description="namespace of every object; else the datum's")
    ledger: str | None = Field(default=None, description="budget ledger URL (sqlite:///, dynamodb://, k8s://)")
    prices: Prices = Field(default_factory=Prices)
    gpu_inventory: GpuInventory = Field(default_factory=GpuInventory)
    kueue: KueueSettings = Field(default_factory=KueueSettings)
    time_slicing: TimeSlicingSettings = Field(default_factory=TimeSlicingSettings)
    operator: OperatorSettings | None = Field(
        default=None, description="the b00t operator of this environment; without it, no AdmissionCheck")
    simulation: SimulationSettings | None = Field(
        default=None, description="set only for the local kwok cluster: fake pods complete after their duration")
    skip_await: bool = Field(default=False, description="true only for an API server with no kubelet")
    volume_size: Quantity = Field(default="10Gi", description="size of a PVC made from a docker volume")
    model_volume_size: Quantity = Field(default="200Gi", description="size of an ai_model PVC")
    model_volume_access_mode: Literal["ReadWriteOnce", "ReadWriteMany", "ReadOnlyMany"] = Field(
        default="ReadWriteOnce",
        description="access mode of ai_model PVCs; ReadWriteMany (e.g. NFS) lets GPU members scale across nodes")
    storage_class: str | None = None

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str | None) -> str | None:
        return None if v is None else check_dns1123(v)

    @model_validator(mode="after")
    def _operator_ledger(self) -> EnvironmentSettings:
        op, ledger = self.operator, self.ledger or ""
        if op is not None and op.image and not ledger.startswith(("k8s://", "dynamodb://")):
            raise ValueError("b00t:operator.image is set: the operator in the cluster and the Pulumi gates must "
                             "share one ledger: set b00t:ledger to k8s://NAMESPACE or dynamodb://TABLE (a sqlite "
                             "file is seen by one machine only)")
        return self
