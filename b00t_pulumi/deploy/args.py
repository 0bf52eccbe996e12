"""Typed arguments and outputs of the components, as Pulumi's component provider reads them.

Pulumi's Python component provider (``pulumi.provider.experimental``) infers the package schema from
these TypedDicts and their attribute docstrings: snake_case names become camelCase in the schema
(``gpu_hour`` -> ``gpuHour``), exactly the keys of the ``b00t:*`` Pulumi config, so a YAML or
TypeScript program writes the settings the way ``Pulumi.<stack>.yaml`` does. The settings mirror
``b00t_pulumi.settings.EnvironmentSettings`` field by field (a test keeps them in step) and are
validated by that model. Output types name their keys in camelCase already: the provider passes
values inside maps through as they are.

No ``from __future__ import annotations`` here: the analyzer needs the annotations as types.
"""

from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
from pydantic import BaseModel

from b00t_pulumi.errors import B00tError, Problem


class PricesArgs(TypedDict, total=False):
    """What a GPU-hour costs (``b00t:prices``)."""

    currency: str
    """ISO 4217 code of every price, e.g. USD."""
    gpu_hour: dict[str, str]
    """b00t GPU name (e.g. nvidia-a100) -> price per GPU-hour, a decimal string such as "2.74"."""
    default_gpu_hour: str
    """Price per GPU-hour of a GPU type not listed (default "0.95", OpenCost's)."""
    cpu_hour: str
    """Price per CPU core-hour (default "0.031611", OpenCost's)."""
    memory_gib_hour: str
    """Price per GiB-hour of memory (default "0.004237", OpenCost's)."""
    rates: dict[str, str]
    """Currency -> units of it per one unit of ``currency``, to price budgets in other currencies."""


class GpuNodeArgs(TypedDict):
    """One GPU node of the inventory."""

    name: str
    """Node name (DNS-1123)."""
    gpu_type: str
    """b00t GPU name, e.g. nvidia-a100."""
    product: NotRequired[str]
    """GPU feature discovery product name (NVIDIA-A100-SXM4-40GB, ...); default: the type's first."""
    gpus: NotRequired[int]
    """Physical GPUs on the node (default 1)."""
    slots: NotRequired[int]
    """Time-slicing replicas per GPU (default 1: not shared)."""
    cpu: NotRequired[str]
    """Allocatable CPU of the node, a quantity (the local cluster's fake node; default 32)."""
    memory: NotRequired[str]
    """Allocatable memory of the node, a quantity (default 256Gi)."""


class GpuInventoryArgs(TypedDict, total=False):
    """The GPUs the epoch scheduler plans onto (``b00t:gpuInventory``)."""

    nodes: list[GpuNodeArgs]
    """The GPU nodes."""


class KueueArgs(TypedDict, total=False):
    """The Kueue ClusterQueue jobs are admitted through (``b00t:kueue``, Kueue v1beta2)."""

    cluster_queue: str
    """ClusterQueue name (default b00t-cluster-queue)."""
    cohort: str
    """cohortName of the ClusterQueue."""
    queueing_strategy: str
    """BestEffortFIFO (default) or StrictFIFO."""
    cpu: str
    """CPU quota, a Kubernetes quantity (default 32)."""
    memory: str
    """Memory quota, a Kubernetes quantity (default 128Gi)."""
    gpus: dict[str, int]
    """b00t GPU name -> GPU quota (default: the inventory's GPUs x slots)."""
    borrowing_limit: int
    """GPU borrowing limit (needs a cohort)."""
    default_flavor: str
    """ResourceFlavor of CPU and memory (default default-flavor)."""


class TimeSlicingArgs(TypedDict, total=False):
    """Where the NVIDIA device-plugin time-slicing config goes (``b00t:timeSlicing``)."""

    namespace: str
    """Namespace of the ConfigMap (default gpu-operator)."""
    config_name: str
    """ConfigMap name (default time-slicing-config)."""
    patch_cluster_policy: bool
    """Also point the GPU Operator's ClusterPolicy at it."""
    create_namespace: bool
    """Create the namespace (no GPU Operator installed yet)."""


class OperatorArgs(TypedDict, total=False):
    """The b00t operator of the environment (``b00t:operator``, docs/operator.md)."""

    local: bool
    """Run it as a local process against the cluster (make up, dev)."""
    image: str
    """Deploy it into the cluster from this image."""


class SimulationArgs(TypedDict, total=False):
    """The environment runs on the local kwok cluster (``b00t:simulation``, dev only)."""

    time_scale: float
    """Simulated seconds per real second (default 60: a 20-minute job runs 20 s)."""


class SettingsArgs(TypedDict, total=False):
    """Everything that differs per environment: the ``b00t:*`` keys of docs/config.md."""

    datum_paths: list[str]
    """Directories of datums, relative to the project (default ["stacks", "components"])."""
    stacks: list[str]
    """Stack names to deploy (default all)."""
    jobs: list[str]
    """Job names to deploy (default all whose stacks are deployed)."""
    namespace: str
    """Namespace of every object (default: each datum's)."""
    ledger: str
    """Budget ledger URL: sqlite:///PATH, dynamodb://TABLE?..., k8s://NAMESPACE."""
    prices: PricesArgs
    """GPU-hour prices."""
    gpu_inventory: GpuInventoryArgs
    """GPU nodes for the epoch scheduler."""
    kueue: KueueArgs
    """The Kueue ClusterQueue."""
    time_slicing: TimeSlicingArgs
    """The NVIDIA time-slicing ConfigMap."""
    operator: OperatorArgs
    """The b00t operator of this environment; without it, no AdmissionCheck."""
    simulation: SimulationArgs
    """Set only for the local kwok cluster: fake pods complete after their duration."""
    skip_await: bool
    """Do not wait for readiness (only for an API server without kubelet)."""
    volume_size: str
    """PVC size of a docker volume (default 10Gi)."""
    model_volume_size: str
    """PVC size of an ai_model (default 200Gi)."""
    model_volume_access_mode: str
    """Access mode of ai_model PVCs: ReadWriteOnce (default), ReadWriteMany or ReadOnlyMany."""
    storage_class: str
    """storageClassName of the PVCs (default: the cluster's)."""


class B00tClusterArgs(TypedDict, total=False):
    """Inputs of B00tCluster. Every key is optional: what is not given comes from the stack's
    Pulumi config (``b00t:*``, ``kubernetes:kubeconfig``, ``kubernetes:context``), as in the Python
    program of this project."""

    settings: SettingsArgs
    """Environment settings; default: the stack config's b00t:* keys."""
    datum_paths: list[str]
    """Datum directories; overrides settings.datumPaths."""
    secrets: dict[str, pulumi.Input[str]]
    """Values of secret env vars by name (they win over b00t:secrets and the environment)."""
    kubeconfig: str
    """Path or contents of the kubeconfig; default kubernetes:kubeconfig. With neither this nor
    context, the components use the provider they inherit (the default one)."""
    context: str
    """kubeconfig context; default kubernetes:context."""


class B00tStackArgs(TypedDict):
    """Inputs of B00tStack: one stack from datums, with its BudgetConstraint and budget gate."""

    stack: str
    """The stack's name (b00t.name of its .stack.toml)."""
    settings: NotRequired[SettingsArgs]
    """Environment settings; default: the stack config's b00t:* keys."""
    datum_paths: NotRequired[list[str]]
    """Datum directories; overrides settings.datumPaths."""
    secrets: NotRequired[dict[str, pulumi.Input[str]]]
    """Values of secret env vars by name (they win over b00t:secrets and the environment)."""
    create_budget_crd: NotRequired[bool]
    """Create the BudgetConstraint CRD (default true; false when another component creates it)."""


# -- outputs (keys already camelCase: values inside maps pass through the provider unchanged) --------
class BudgetSummary(TypedDict):
    """A stack's budget and what its gate decided."""

    constraint: str
    """namespace/name of the BudgetConstraint custom resource."""
    dailyLimit: str
    """Limit per window, a decimal string."""
    currency: str
    """ISO 4217 code."""
    onBudgetExceeded: str
    """defer, alert or fail."""
    spend: str
    """Projected spend of the window, a decimal string."""
    outcome: str
    """approved, deferred, alerted or rejected."""
    deferred: dict[str, str]
    """Deferred item -> start of the window it waits for."""


class StackSummary(TypedDict):
    """What a deployed stack offers."""

    namespace: str
    """Namespace of its objects."""
    endpoints: dict[str, str]
    """Member -> URL of its Service inside the cluster."""
    budget: NotRequired[BudgetSummary]
    """Its budget, when it has one."""


class JobSummary(TypedDict):
    """A deployed job."""

    namespace: str
    """Namespace of the Job."""
    queue: NotRequired[str]
    """Kueue LocalQueue it is admitted through."""


class EpochSummary(TypedDict):
    """The GPU epoch plan."""

    loads: int
    """Model loads the plan needs."""
    assignments: dict[str, Any]
    """Job -> epoch, gpu, node, start, suspend."""


# -- args -> settings ------------------------------------------------------------------------------
def _camel(data: Any, model: type[BaseModel]) -> Any:
    """Snake_case field names of ``model`` (and its nested models) as the model's camelCase aliases;
    keys inside plain maps (GPU names, ...) are left alone; unknown keys stay for the model to refuse."""
    from b00t_pulumi.datum.loader import _unwrap

    if not isinstance(data, Mapping):
        return data
    out: dict[str, Any] = {}
    by_name = {**{n: (n, f) for n, f in model.model_fields.items()},
               **{f.alias: (n, f) for n, f in model.model_fields.items() if f.alias}}
    for key, value in data.items():
        if key not in by_name:
            out[key] = value
            continue
        name, f = by_name[key]
        inner = _unwrap(f.annotation)
        if inner is not None:
            value = _camel(value, inner)
        elif isinstance(value, list) and (item := _list_model(f.annotation)) is not None:
            value = [_camel(v, item) for v in value]
        out[f.alias or name] = value
    return out


def _list_model(annotation: Any) -> type[BaseModel] | None:
    import typing

    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def plain(value: Any, key: str, owner: str) -> Any:
    """A value the planner needs now: an Output (a value not known before deploy) is refused."""
    if isinstance(value, pulumi.Output):
        raise B00tError([Problem(owner, key, "must be a plain value known before the deploy (not an output "
                                             "of another resource): the datums are planned at preview")])
    if isinstance(value, Mapping):
        return {k: plain(v, f"{key}.{k}", owner) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v, f"{key}[{i}]", owner) for i, v in enumerate(value)]
    return value


def settings_config(settings: Mapping[str, Any] | None, datum_paths: list[str] | None, owner: str,
                    config: Mapping[str, Any]) -> dict[str, Any]:
    """The camelCase ``b00t:*`` mapping a component plans with: its ``settings`` when given, else the
    stack's config (``config``); ``datum_paths`` overrides either's datumPaths."""
    from b00t_pulumi.settings import EnvironmentSettings

    given = None if settings is None else plain(dict(settings), "settings", owner)
    data = dict(config) if given is None else _camel(given, EnvironmentSettings)
    if datum_paths is not None:
        data["datumPaths"] = plain(list(datum_paths), "datumPaths", owner)
    return data
