"""The key reference of docs/datums.md, generated from the models so the docs cannot drift.

``python -m b00t_pulumi.datum.reference`` prints it; a test checks docs/datums.md holds it.
"""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from b00t_pulumi.datum.keys import B00T_TOOLING_IGNORED, BOOT_DATUM_IGNORED
from b00t_pulumi.datum.models import AiModelDatum, Datum, DockerDatum, JobDatum, K8sDatum, StackDatum
from b00t_pulumi.datum.orchestration import (
    NO_EFFECT_KEYS,
    BudgetConstraint,
    GpuEpoch,
    GpuRequirements,
    K8sSettings,
    Orchestration,
    ResourceRequirements,
)
from b00t_pulumi.datum.quantities import format_duration

BEGIN = "<!-- BEGIN GENERATED: python -m b00t_pulumi.datum.reference -->"
END = "<!-- END GENERATED -->"

# What each key becomes in Kubernetes (the planner's behaviour, in words).
BECOMES: dict[str, str] = {
    "b00t.name": "object names (Deployment, Service, Job: DNS-1123 required for stack, job, docker)",
    "b00t.type": "which model validates the datum; `model` = `ai_model`",
    "b00t.hint": "documentation only",
    "b00t.depends_on": "a member waits (init container) for the Services of the members it depends on; a job "
                       "starts after the jobs it depends on succeed; host prerequisites (cli) are not installed",
    "b00t.env": "container env; secret-looking names become Secret + secretKeyRef",
    "b00t.orchestration": "see the orchestration tables",
    "b00t.members": "one Deployment (+ Service when ports) per docker member; PVC per ai_model; cli/k8s skipped",
    "b00t.image": "container image",
    "b00t.command": "container command",
    "b00t.args": "container args",
    "b00t.job": "not planned (b00t's workflow runner); a job needs an image to become a Job",
    "b00t.docker_args": "-p: containerPort + Service port; -v: PVC + volumeMount; -e: env; others reported",
    "b00t.ai_model": "`[ai_model].metadata.container_mount` is where the model PVC is mounted",
    "b00t.namespace": "noted (Helm charts are not rendered)",
    "b00t.chart_path": "noted (Helm charts are not rendered)",
    "schedule_type": "label b00t.io/schedule-type on stacks and jobs (a warning when what it schedules by is "
                     "missing); no effect on a member",
    "gpu_batch_group": "label b00t.io/gpu-batch-group + podAffinity (topologyKey kubernetes.io/hostname)",
    "gpu_requirements": "resources.limits nvidia.com/gpu, nodeAffinity on nvidia.com/gpu.product, GPU toleration",
    "gpu_requirements.count": "resources.limits nvidia.com/gpu",
    "gpu_requirements.memory": "annotation b00t.io/gpu-memory",
    "gpu_requirements.gpu_type": "nodeAffinity nvidia.com/gpu.product In [products]; Kueue ResourceFlavor",
    "gpu_requirements.shared": "time-slicing ConfigMap; product values with -SHARED accepted",
    "gpu_epoch.model_id": "label b00t.io/model-id; the scheduler's batch group",
    "gpu_epoch.batch_window": "annotation b00t.io/gpu-epoch-window; epoch length",
    "gpu_epoch.max_concurrent_jobs": "time-slicing replicas; jobs per epoch per GPU",
    "gpu_epoch.load_time": "the scheduler's model load time",
    "gpu_epoch.load_time_by_type": "the scheduler's load time on those GPU types (b00t:gpuInventory gpuType)",
    "budget_constraint": "BudgetConstraint CR <owner>-budget; annotation b00t.io/budget-constraint",
    "budget_constraint.n8n_webhook": "Secret <owner>-budget-webhook, referenced by webhookSecretRef",
    "budget_currency": "currency when budget_constraint.currency is not set",
    "resource_requirements.cpu": "resources.requests.cpu",
    "resource_requirements.memory": "resources.requests.memory and limits.memory",
    "requires_stacks": "initContainers waiting for each Service (busybox nc -z); B00T_<MEMBER>_URL env",
    "queue_name": "stacks and jobs: label kueue.x-k8s.io/queue-name (a stack's Deployments' pods too); a "
                  "LocalQueue of that name; no effect on a member",
    "estimated_duration": "annotation b00t.io/estimated-duration; cost = GPU price x GPUs x duration",
    "k8s.namespace": "metadata.namespace (the environment's b00t:namespace wins)",
    "k8s.enable_auto_scaling": "HorizontalPodAutoscaler (CPU 80%) per Deployment",
    "k8s.min_replicas": "HPA minReplicas (at least 1)",
    "k8s.max_replicas": "HPA maxReplicas; replicas used for the daily cost estimate",
    "k8s.replicas": "Deployment replicas without autoscaling",
    "k8s.gpu_members": "which docker members get the stack's GPUs",
    "k8s.storage": "size of the PVCs made from docker volumes (default: the environment's volumeSize)",
    "k8s.storage_class": "PVC storageClassName (default: the environment's storageClass)",
    "gpu_epoch": "see gpu_epoch below",
    "resource_requirements": "see resource_requirements below",
    "k8s": "see k8s below",
}


_VALIDATED = {"_money": "money", "_quantity": "quantity", "_duration": "duration", "_label_value": "name"}


def _validated(metadata: Any) -> str | None:
    for m in metadata:
        name = getattr(getattr(m, "func", None), "__name__", "")
        if name in _VALIDATED:
            return _VALIDATED[name]
    return None


def _type_name(tp: Any, metadata: Any = ()) -> str:
    special = _validated(metadata)
    if special:
        return special
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0], args[1:])
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "table"
    if isinstance(tp, type):
        if issubclass(tp, BaseModel):
            return "table"
        return {"str": "string", "int": "integer", "bool": "boolean", "float": "number"}.get(tp.__name__, tp.__name__)
    return str(tp)


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "required" if field.default_factory is None else "empty"
    if field.default is None:
        return "-"
    return f"`{field.default}`"


def _rows(model: type[BaseModel], prefix: str, skip: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    out = []
    for name, f in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        aliases = getattr(f.validation_alias, "choices", None)
        alias = f" (also {', '.join(str(a) for a in aliases if a != name)})" if aliases else ""
        becomes = BECOMES.get(key.removeprefix("b00t.orchestration."), BECOMES.get(key, f.description or ""))
        tname = _type_name(f.annotation, f.metadata)
        is_duration = tname == "duration" and isinstance(f.default, int)
        default = f"`{format_duration(f.default)}`" if is_duration else _default(f)
        out.append(f"| `{key}`{alias} | {tname} | {default} | {becomes} |")
    return out


def reference() -> str:
    lines = [BEGIN, "", "### `[b00t]` keys by datum type", "",
             "| key | type | default | in Kubernetes |", "|---|---|---|---|"]
    lines += _rows(Datum, "b00t.")
    for cls in (StackDatum, JobDatum, DockerDatum, AiModelDatum, K8sDatum):
        own = set(cls.model_fields) - set(Datum.model_fields)
        lines += [r.replace("| `b00t.", f"| {cls.TYPES[0]}: `b00t.", 1)
                  for r in _rows(cls, "b00t.", set(cls.model_fields) - own)]
    lines += ["", "### `[b00t.orchestration]`", "", "| key | type | default | in Kubernetes |", "|---|---|---|---|"]
    lines += _rows(Orchestration, "b00t.orchestration.")
    for model, sub in ((GpuRequirements, "gpu_requirements"), (GpuEpoch, "gpu_epoch"),
                       (BudgetConstraint, "budget_constraint"), (ResourceRequirements, "resource_requirements"),
                       (K8sSettings, "k8s")):
        lines += ["", f"### `[b00t.orchestration.{sub}]`", "", "| key | type | default | in Kubernetes |",
                  "|---|---|---|---|"]
        lines += _rows(model, f"b00t.orchestration.{sub}.")
    lines += ["", "### Orchestration keys upstream carries without effect (accepted with a warning)", "",
              "| key | why it has no effect |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in NO_EFFECT_KEYS.items()]
    lines += ["| `resource_requirements.gpu` | GPUs come from gpu_requirements |",
              "| `k8s.pod_template_source` | objects always come from the b00t-pulumi planner |"]
    lines += ["", "### Upstream `[b00t]` keys ignored on purpose (no Kubernetes meaning)", "",
              "Fields of upstream's `BootDatum`: " + ", ".join(f"`{k}`" for k in sorted(BOOT_DATUM_IGNORED)) + ".",
              "",
              "Tables b00t's own datums use for b00t tooling: "
              + ", ".join(f"`{k}`" for k in sorted(B00T_TOOLING_IGNORED)) + ".", "",
              "Top-level tables besides `[b00t]`: `[env]` (merged into `[b00t.env]`, top-level wins), `[ai_model]` "
              "(ai_model datums); `[roles]`, `[validate]`, `[version]`, `[stack]` are ignored.", "", END]
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference())
