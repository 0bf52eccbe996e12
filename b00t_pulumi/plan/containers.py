"""What goes into a container and next to it, for stacks and jobs alike: env values and the Secret of
the secret ones, ``${VAR}`` expansion of every field, waits for Services, GPU annotations, the
BudgetConstraint and its webhook Secret, and the warnings about keys that have no effect where they
stand."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from b00t_pulumi.plan.model import JobPlan, StackPlan
    from b00t_pulumi.plan.planner import Planner

from collections.abc import Mapping
from typing import Any

from b00t_pulumi.budget.prices import PricingError
from b00t_pulumi.datum.models import Datum, DockerDatum, JobDatum, StackDatum
from b00t_pulumi.datum.orchestration import BudgetConstraint, Orchestration
from b00t_pulumi.datum.quantities import format_duration
from b00t_pulumi.errors import PlanError, Problem
from b00t_pulumi.plan import crds, network
from b00t_pulumi.plan.env import SecretValue, expand, is_secret
from b00t_pulumi.plan.needs import GpuNeed, where
from b00t_pulumi.plan.network import Endpoint
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta, sort_for_apply

# Keys of [b00t.orchestration] that only stacks and jobs use: on a member datum they change nothing.
MEMBER_NO_EFFECT = {
    "queue_name": "set queue_name on the stack",
    "budget_constraint": "put the budget on the stack",
    "budget_currency": "set budget_currency on the stack",
    "schedule_type": "set schedule_type on the stack",
    "requires_stacks": "a member runs as part of its stack",
    "estimated_duration": "only jobs have a duration",
    "k8s": "set [b00t.orchestration.k8s] on the stack",
}
SCHEDULE_NEEDS = {
    "gpu_affinity": ("a GPU batch group", "gpu_batch_group or gpu_requirements"),
    "queue_based": ("a Kueue queue", "queue_name"),
    "budget_aware": ("a budget", "budget_constraint"),
}




def member_warnings(planner: Planner, stack: StackDatum, d: DockerDatum) -> list[Problem]:
    out: list[Problem] = []
    if d.orchestration is None:
        return out
    for key, hint in MEMBER_NO_EFFECT.items():
        if key in d.orchestration.model_fields_set:
            out.append(Problem(where(d), f"b00t.orchestration.{key}",
                               f"has no effect on a member of stack {stack.name} ({hint}: {where(stack)})",
                               "warning"))
    return out


def schedule_warnings(planner: Planner, d: StackDatum | JobDatum, has_gpu: bool) -> list[Problem]:
    st = d.orch.schedule
    if st not in SCHEDULE_NEEDS:
        return []
    o = d.orch
    present = {"gpu_affinity": has_gpu or bool(o.gpu_batch_group), "queue_based": bool(o.queue_name),
               "budget_aware": bool(o.budget_constraint) or any(s.orch.budget_constraint for s in (
                   planner.required_stacks(d) if isinstance(d, JobDatum) else []))}[st]
    if present:
        return []
    what, key = SCHEDULE_NEEDS[st]
    return [Problem(where(d), "b00t.orchestration.schedule_type",
                    f"{st!r} schedules by {what}, but the datum has none: set {key} (else the label "
                    "b00t.io/schedule-type is its only effect)", "warning")]


def expand_field(planner: Planner, owner: Datum, key: str, template: str, warnings: list[Problem]) -> str:
    exp = expand(template, planner.environ)
    if exp.missing:
        warnings.append(Problem(where(owner), key, f"${{{exp.missing[0]}}} is not set and has no default: "
                                "it expands to nothing", "warning"))
    return exp.value


def container_env(planner: Planner, owner: str, owner_datum: Datum, layers: list[Mapping[str, str]], namespace: str,
         object_labels: dict[str, str], warnings: list[Problem]) -> tuple[list[dict[str, Any]], K8sObject | None]:
    """Container env (plain values and secretKeyRefs) and the Secret holding the secret ones."""
    merged: dict[str, str] = {}
    for layer in layers:
        merged.update(layer)
    env: list[dict[str, Any]] = []
    secret_data: dict[str, SecretValue] = {}
    secret_name = f"{owner}-env"
    for name in sorted(merged):
        template = merged[name]
        exp = expand(template, planner.environ)
        if is_secret(name, template, exp.value):
            secret_data[name] = SecretValue(exp.value, template, not exp.missing)
            env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": name}}})
        else:
            if exp.missing:
                warnings.append(Problem(where(owner_datum), f"env.{name}",
                                        f"${{{exp.missing[0]}}} is not set and has no default: "
                                        "the value is empty", "warning"))
            env.append({"name": name, "value": exp.value})
    secret = None
    if secret_data:
        secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                  "metadata": meta(secret_name, namespace, labels=object_labels), "stringData": secret_data}
    return env, secret


def gpu_annotations(need: GpuNeed | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if need is None:
        return out
    if need.gpu_type:
        out["b00t.io/gpu-type"] = need.gpu_type
    if need.requirements.memory:
        out["b00t.io/gpu-memory"] = need.requirements.memory
    if need.shared:
        out["b00t.io/gpu-shared"] = "true"
    if need.epoch:
        out["b00t.io/gpu-epoch-window"] = format_duration(need.epoch.batch_window)
        out["b00t.io/gpu-epoch-max-concurrent-jobs"] = str(need.epoch.max_concurrent_jobs)
    return out


def waits(planner: Planner, endpoints: list[Endpoint], what: str, owner: str, notes: list[str]) -> list[dict[str, Any]]:
    out = []
    for ep in endpoints:
        c = network.wait_container(ep, what)
        if c is None:
            notes.append(f"{owner}: {ep.member} ({what}) has only UDP ports: nothing can probe them with "
                         "nc -z, so it does not wait for them")
        else:
            out.append(c)
    return out


def budget_objects(planner: Planner, name: str, ns: str, kind: str, owner: StackDatum | JobDatum, bc: BudgetConstraint,
            orch: Orchestration) -> tuple[K8sObject, list[K8sObject]]:
    obj_labels = {"app.kubernetes.io/managed-by": MANAGED_BY, f"b00t.io/{kind.lower()}": owner.name}
    extra: list[K8sObject] = []
    webhook = None
    if bc.n8n_webhook:
        secret_name = f"{name}-webhook"
        exp = expand(bc.n8n_webhook, planner.environ)
        extra.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": meta(secret_name, ns, labels=obj_labels),
                      "stringData": {"url": SecretValue(exp.value, bc.n8n_webhook, not exp.missing)}})
        webhook = (secret_name, "url")
    cr = crds.budget_constraint_cr(name, ns, kind, owner.name, bc, orch.currency, obj_labels, webhook)
    return cr, extra


def pricing_problem(planner: Planner, owner: Datum, exc: PricingError, item: str) -> Problem:
    """A PricingError as a Problem in ``owner``'s file, at the datum key that would fix it."""
    keys = [k for k in exc.keys if k.startswith("b00t.")]
    if any(k.startswith("b00t:prices") for k in exc.keys):  # a price list in another currency
        bc = owner.orch.budget_constraint
        key = ("b00t.orchestration.budget_currency" if bc and not bc.currency and owner.orch.budget_currency
               else "b00t.orchestration.budget_constraint.currency")
        return Problem(where(owner), key, f"{item}: {exc.message}")
    return Problem(where(owner), keys[0] if keys else "b00t.orchestration.budget_constraint",
                   f"{item}: {exc.message}")


def annotate(obj: K8sObject, annotations: Mapping[str, str]) -> None:
    """Add annotations to a workload and to its pod template (sorted, as ``meta`` writes them)."""
    for m in (obj["metadata"], obj["spec"]["template"]["metadata"]):
        m["annotations"] = dict(sorted({**m.get("annotations", {}), **annotations}.items()))


def finish(plan: StackPlan | JobPlan, warnings: list[Problem]) -> None:
    """The last step of a stack's or job's plan: stop on its errors, else keep its warnings and put
    its objects in apply order."""
    errors = [p for p in warnings if p.severity == "error"]
    if errors:
        raise PlanError(errors)
    plan.warnings = warnings
    plan.objects = sort_for_apply(plan.objects)
