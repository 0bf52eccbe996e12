"""The rules. Each takes resources (type token, props, urn) and config, and returns violations."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from b00t_pulumi.budget.api import spec_window
from b00t_pulumi.budget.items import budget_items
from b00t_pulumi.budget.money import Money
from b00t_pulumi.errors import B00tError
from b00t_pulumi.plan.env import is_secret_name, is_webhook_url

GPU = "nvidia.com/gpu"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
DEFERRED_ANNOTATION = "b00t.io/deferred-until"  # set by the BudgetGate (gates/decisions.py)
BUDGET_TYPE = "kubernetes:b00t.io/v1:BudgetConstraint"


@dataclass(frozen=True)
class Resource:
    type: str  # e.g. kubernetes:apps/v1:Deployment
    props: Mapping[str, Any]
    urn: str = ""

    @property
    def kind(self) -> str:
        return self.type.rsplit(":", 1)[-1]

    @property
    def metadata(self) -> Mapping[str, Any]:
        m = self.props.get("metadata")
        return m if isinstance(m, Mapping) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def annotations(self) -> Mapping[str, Any]:
        a = self.metadata.get("annotations")
        return a if isinstance(a, Mapping) else {}

    @property
    def labels(self) -> Mapping[str, Any]:
        lb = self.metadata.get("labels")
        return lb if isinstance(lb, Mapping) else {}


@dataclass(frozen=True)
class Violation:
    message: str
    urn: str = ""


Rule = Callable[[list[Resource], Mapping[str, Any]], list[Violation]]


def _pod_spec(r: Resource) -> Mapping[str, Any] | None:
    if r.type not in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"):
        return None
    spec = r.props.get("spec", {})
    tmpl = spec.get("template", {}) if isinstance(spec, Mapping) else {}
    pod = tmpl.get("spec") if isinstance(tmpl, Mapping) else None
    return pod if isinstance(pod, Mapping) else None


def _containers(pod: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers"):
        for c in pod.get(key) or []:
            if isinstance(c, Mapping):
                yield c


def _gpu_limit(c: Mapping[str, Any]) -> Any:
    res = c.get("resources") or {}
    return (res.get("limits") or {}).get(GPU) if isinstance(res, Mapping) else None


def _gpu_request(c: Mapping[str, Any]) -> Any:
    res = c.get("resources") or {}
    return (res.get("requests") or {}).get(GPU) if isinstance(res, Mapping) else None


def _money(value: Any) -> Decimal | None:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


# ---------------------------------------------------------------------------------------- budget
# (BudgetConstraint, its items' ids) -> current-window ledger spend not held by those items
SpendLookup = Callable[[Resource, Sequence[str]], Money | None]


def _as_object(r: Resource) -> dict[str, Any]:
    return {**r.props, "kind": r.kind}


def _known_or(read: Callable[[], Any], unknown: Any) -> Any:
    """``read()``, or ``unknown`` when the value is not known until apply (pulumi_policy raises its
    UnknownValueError on reading one during a preview; the core does not import pulumi_policy)."""
    try:
        return read()
    except Exception as exc:
        if type(exc).__name__ == "UnknownValueError":
            return unknown
        raise


def _annotation(meta: Mapping[str, Any], key: str) -> Any:
    return (meta.get("annotations") or {}).get(key)


def _deferred(objects: list[dict[str, Any]], kind: str, namespace: str, name: str) -> bool:
    """The workload carries the gate's ``b00t.io/deferred-until``. Unknown until apply (a preview of a
    changed gate): not counted then either; the policy runs again on the known values."""
    for o in objects:
        meta = o.get("metadata") or {}
        if str(o.get("kind", "")).lower() == kind and meta.get("namespace") == namespace and meta.get("name") == name:
            return bool(_known_or(functools.partial(_annotation, meta, DEFERRED_ANNOTATION), True))
    return False


def _window_hours(spec: Mapping[str, Any], now: datetime | None) -> float:
    try:
        return spec_window(spec, now or datetime.now(UTC)).hours
    except B00tError:
        return 24.0


def budget_within_daily_limit(resources: list[Resource], config: Mapping[str, Any],
                              spend: SpendLookup | None = None, now: datetime | None = None) -> list[Violation]:
    """Per BudgetConstraint CR: its items (``budget.items.budget_items``:
    the Deployments' daily cost and the Jobs' estimated cost of every workload naming it, whatever its
    namespace), plus the ledger's spend in the current window that is not these items' own
    reservations (so a re-run counts nothing twice), must stay within spec.dailyLimit. Under ``defer``
    the workloads its gate deferred (``b00t.io/deferred-until`` set) are left out: they are held until
    the next window, so what stays must fit."""
    out: list[Violation] = []
    objects = [_as_object(r) for r in resources]
    for b in (r for r in resources if r.type == BUDGET_TYPE):
        spec = b.props.get("spec") or {}
        limit_amount = _money(spec.get("dailyLimit"))
        currency = spec.get("currency")
        if limit_amount is None or not isinstance(currency, str) or len(currency) != 3:
            continue  # unknown during preview, or not ours
        limit = Money(limit_amount, currency)
        total = Money.zero(currency)
        parts: list[str] = []
        items = budget_items(b.name, objects, currency=currency, window_hours=_window_hours(spec, now))
        if spec.get("onBudgetExceeded") == "defer":
            # what its gate deferred does not run in this window (held until it resets): not counted
            items = [i for i in items if not _deferred(objects, i.kind, i.namespace, i.name)]
        for item in items:
            if item.problem:
                out.append(Violation(f"BudgetConstraint {b.namespace}/{b.name}: {item.problem}", b.urn))
            elif item.cost is not None:  # None: not known until apply
                total = total + item.cost
                if item.cost.amount:
                    parts.append(f"{item.label} {item.cost.display}")
        ledger = spend(b, [i.id for i in items]) if spend else None
        if ledger is not None and ledger.currency == currency and ledger.amount:
            total = total + ledger
            parts.append(f"ledger spend {ledger.display}")
        if total > limit:
            out.append(Violation(
                f"BudgetConstraint {b.namespace}/{b.name}: estimated {total} per day is over the "
                f"daily limit of {limit} ({'; '.join(parts)}). Lower replicas or GPU counts, raise "
                "spec.dailyLimit in the datum's budget_constraint, or wait for the next window.", b.urn))
    return out


# ------------------------------------------------------------------------------------------- GPU
def gpu_limits_required(resources: list[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """Containers asking for GPUs must set resources.limits nvidia.com/gpu (GPUs are limits-only in
    Kubernetes), and pods scheduled onto GPU nodes (b00t.io/gpu-type) must actually claim one."""
    out: list[Violation] = []
    for r in resources:
        pod = _pod_spec(r)
        if pod is None:
            continue
        containers = list(_containers(pod))
        for c in containers:
            if _gpu_request(c) is not None and _gpu_limit(c) is None:
                out.append(Violation(f"{r.kind} {r.namespace}/{r.name}: container {c.get('name')} requests "
                                     f"{GPU} without a limit; set resources.limits.{GPU}", r.urn))
        if r.annotations.get("b00t.io/gpu-type") and not any(_gpu_limit(c) for c in containers):
            out.append(Violation(f"{r.kind} {r.namespace}/{r.name}: placed on {r.annotations['b00t.io/gpu-type']} "
                                 f"nodes but no container sets resources.limits.{GPU}", r.urn))
    return out


def gpu_jobs_use_kueue(resources: list[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """Jobs that use GPUs join a Kueue LocalQueue (label kueue.x-k8s.io/queue-name), so GPU quota is
    admitted by Kueue rather than raced for by pods."""
    out: list[Violation] = []
    for r in resources:
        if r.type != "kubernetes:batch/v1:Job":
            continue
        pod = _pod_spec(r) or {}
        queued = _known_or(functools.partial(r.labels.get, QUEUE_LABEL), True)  # unknown: the gate's, it is there
        if any(_gpu_limit(c) for c in _containers(pod)) and not queued:
            out.append(Violation(f"Job {r.namespace}/{r.name} uses GPUs but has no {QUEUE_LABEL} label; set "
                                 "queue_name in the job datum's [b00t.orchestration]", r.urn))
    return out


def time_slicing_covers_concurrency(resources: list[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """For each GPU type that pods share, the device plugin's time-slicing replicas must be at least the
    largest max_concurrent_jobs those pods declare (annotation b00t.io/gpu-epoch-max-concurrent-jobs)."""
    replicas: dict[str, int] = {}
    for r in resources:
        if r.type == "kubernetes:core/v1:ConfigMap" and isinstance(r.props.get("data"), Mapping):
            for key, text in r.props["data"].items():
                try:
                    cfg = yaml.safe_load(text) if isinstance(text, str) else None
                except yaml.YAMLError:
                    continue
                if not isinstance(cfg, dict):
                    continue
                try:
                    for res in cfg["sharing"]["timeSlicing"]["resources"]:
                        if res.get("name") == GPU:
                            replicas[str(key)] = int(res["replicas"])
                except (KeyError, TypeError, ValueError):
                    continue
    out: list[Violation] = []
    for r in resources:
        a = r.annotations
        if a.get("b00t.io/gpu-shared") != "true" or not a.get("b00t.io/gpu-type"):
            continue
        gpu_type = str(a["b00t.io/gpu-type"])
        try:
            wanted = int(a.get("b00t.io/gpu-epoch-max-concurrent-jobs", 1))
        except (TypeError, ValueError):
            continue
        have = replicas.get(gpu_type)
        if have is None:
            out.append(Violation(f"{r.kind} {r.namespace}/{r.name} shares a {gpu_type} GPU but no time-slicing "
                                 f"config has a key {gpu_type!r}", r.urn))
        elif have < wanted:
            out.append(Violation(f"{r.kind} {r.namespace}/{r.name} runs up to {wanted} jobs per {gpu_type} GPU but "
                                 f"time-slicing gives only {have} replicas", r.urn))
    return out


# --------------------------------------------------------------------------------------- hygiene
def _image_is_floating(image: str) -> bool:
    if "@sha256:" in image:
        return False
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def no_latest_images(resources: list[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """Images are pinned to a tag or digest: `:latest` or no tag changes under a running stack."""
    out: list[Violation] = []
    for r in resources:
        pod = _pod_spec(r)
        for c in _containers(pod or {}):
            image = c.get("image")
            if isinstance(image, str) and _image_is_floating(image):
                out.append(Violation(f"{r.kind} {r.namespace}/{r.name}: container {c.get('name')} uses image "
                                     f"{image!r}; pin a version tag or digest", r.urn))
    return out


def no_plaintext_secrets(resources: list[Resource], config: Mapping[str, Any]) -> list[Violation]:
    """Passwords, tokens, keys and webhook URLs reach containers from Secrets, never as plain env values
    or ConfigMap data."""
    out: list[Violation] = []
    for r in resources:
        for c in _containers(_pod_spec(r) or {}):
            for e in c.get("env") or []:
                if not isinstance(e, Mapping) or "value" not in e:
                    continue
                name, value = str(e.get("name", "")), e.get("value")
                if value and (is_secret_name(name) or (isinstance(value, str) and is_webhook_url(value))):
                    out.append(Violation(f"{r.kind} {r.namespace}/{r.name}: env {name} of container "
                                         f"{c.get('name')} is a plain value; use a Secret (secretKeyRef)", r.urn))
        if r.type == "kubernetes:core/v1:ConfigMap" and isinstance(r.props.get("data"), Mapping):
            for key, value in r.props["data"].items():
                if is_secret_name(str(key)) or (isinstance(value, str) and is_webhook_url(value)):
                    out.append(Violation(f"ConfigMap {r.namespace}/{r.name}: key {key} looks secret; "
                                         "put it in a Secret", r.urn))
    return out


# name -> (rule, description, is it a stack policy)
POLICIES: dict[str, tuple[Rule, str]] = {
    "budget-within-daily-limit": (budget_within_daily_limit,
                                  "Estimated daily cost of a stack's workloads (plus ledger spend) within its "
                                  "BudgetConstraint's daily limit"),
    "gpu-limits-required": (gpu_limits_required, "GPU containers set resources.limits nvidia.com/gpu"),
    "gpu-jobs-use-kueue": (gpu_jobs_use_kueue, "GPU Jobs join a Kueue LocalQueue"),
    "time-slicing-covers-concurrency": (time_slicing_covers_concurrency,
                                        "Time-slicing replicas cover each shared GPU's max concurrent jobs"),
    "no-latest-images": (no_latest_images, "Container images are pinned (no :latest, no missing tag)"),
    "no-plaintext-secrets": (no_plaintext_secrets, "Secrets reach containers from Secrets, never as plain values"),
}


def run_all(resources: Iterable[Resource], config: Mapping[str, Mapping[str, Any]] | None = None
            ) -> dict[str, list[Violation]]:
    """Every rule over the resources (for the CLI and tests); config is per policy name."""
    res = list(resources)
    return {name: rule(res, (config or {}).get(name, {})) for name, (rule, _) in POLICIES.items()}
