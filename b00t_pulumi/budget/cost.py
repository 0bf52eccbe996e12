"""The cost model: what a run of a job or a day of a Deployment costs, in its budget's currency.

One path for every face: the planner prices each planned Job and Deployment here (the cost
annotations), the gates, the policy pack and ``budget check`` read those through
``budget.items``, and the operator settles a finished Job's measured run time with ``run_cost``.
Pure functions with typed inputs; nothing here reads datums, the planner or a ledger.

- A pod's hourly rate = GPUs x price per GPU-hour of its type + CPU cores x price per core-hour +
  GiB of memory x price per GiB-hour, from what the pod requests (GPUs: ``limits nvidia.com/gpu``).
  A pod with GPUs but no type is priced as the dearest type it may land on, with a note.
- A run costs ``cost_per_job`` when the budget sets it, else hourly rate x pod-hours.
- A Deployment costs hourly rate x replicas (with an HPA: its maxReplicas, the most that may run)
  x hours (24 a day).
- Something in a budget that cannot be priced is a ``PricingError`` naming the keys that would price it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget.money import Money, to_decimal
from b00t_pulumi.budget.prices import PriceList, PricingError
from b00t_pulumi.datum.quantities import parse_quantity

HOURS_PER_DAY = 24
GPU_RESOURCE = "nvidia.com/gpu"
GPU_TYPE_ANNOTATION = "b00t.io/gpu-type"
_SECONDS_PER_HOUR = Decimal(3600)
_GIB = Decimal(2**30)

COST_PER_JOB_KEY = "b00t.orchestration.budget_constraint.cost_per_job"
DURATION_KEY = "b00t.orchestration.estimated_duration"
RESOURCES_KEY = "b00t.orchestration.resource_requirements"
GPU_TYPE_KEY = "b00t.orchestration.gpu_requirements.gpu_type"


def _quantity(value: Any) -> Decimal:
    try:
        return parse_quantity(value)
    except ValueError:
        return Decimal(0)


@dataclass(frozen=True)
class PodRequest:
    """What one pod asks for that has a price: GPUs (and their type), CPU cores, memory bytes."""

    gpus: int = 0
    gpu_type: str | None = None
    cpu: Decimal = Decimal(0)
    memory: Decimal = Decimal(0)

    @classmethod
    def of_pod(cls, pod: Mapping[str, Any], gpu_type: str | None = None) -> PodRequest:
        """Kubernetes' effective request of a pod spec: per resource, the larger of the containers'
        sum and the largest init container (GPUs from ``limits``, CPU and memory from ``requests``)."""

        def amounts(c: Mapping[str, Any]) -> tuple[Decimal, Decimal, Decimal]:
            res = c.get("resources") or {}
            req, lim = res.get("requests") or {}, res.get("limits") or {}
            return (_quantity(lim.get(GPU_RESOURCE, req.get(GPU_RESOURCE, 0))),
                    _quantity(req.get("cpu", lim.get("cpu", 0))), _quantity(req.get("memory", lim.get("memory", 0))))

        main = [amounts(c) for c in pod.get("containers") or []]
        init = [amounts(c) for c in pod.get("initContainers") or []]
        total = [sum((m[i] for m in main), Decimal(0)) for i in range(3)]
        eff = [max([total[i], *(m[i] for m in init)]) for i in range(3)]
        return cls(gpus=int(eff[0]), gpu_type=gpu_type, cpu=eff[1], memory=eff[2])

    @property
    def empty(self) -> bool:
        return not (self.gpus or self.cpu or self.memory)

    def describe(self) -> str:
        parts = []
        if self.gpus:
            parts.append(f"{self.gpus} {self.gpu_type or 'untyped'} GPU{'s' if self.gpus != 1 else ''}")
        if self.cpu:
            parts.append(f"{self.cpu.normalize():f} CPU")
        if self.memory:
            parts.append(f"{(self.memory / _GIB).normalize():f} GiB memory")
        return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class HourlyRate:
    """What one pod costs per hour, the GPU type it was priced as, and notes: ``notes`` about this
    pod (a GPU type guessed), ``price_notes`` about the price list (a default price, a conversion)."""

    per_hour: Money
    gpu_type: str | None
    notes: tuple[str, ...] = ()
    price_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Priced:
    """A cost and how it was reached (``basis``, for people), with notes worth showing (as in HourlyRate)."""

    cost: Money
    basis: str
    notes: tuple[str, ...] = field(default=())
    price_notes: tuple[str, ...] = field(default=())


def hourly_rate(request: PodRequest, prices: PriceList, gpu_candidates: Sequence[str] = ()) -> HourlyRate:
    """GPUs x GPU-hour price + cores x core-hour price + GiB x GiB-hour price, in ``prices.currency``."""
    prices.check()
    notes: list[str] = []
    price_notes = list(prices.notes)
    total = Money.zero(prices.currency)
    gpu_type = request.gpu_type
    if request.gpus:
        if gpu_type:
            price, note = prices.gpu(gpu_type)
            if note:
                price_notes.append(note)
        else:
            gpu_type, price = prices.dearest_gpu(gpu_candidates)
            source = "b00t:gpuInventory" if gpu_candidates else "b00t:prices.gpuHour"
            notes.append(
                f"no gpu_type: priced as {gpu_type or 'defaultGpuHour'} at {price.exact()} per GPU-hour, the "
                f"dearest GPU it may land on ({source}); set {GPU_TYPE_KEY} to price it exactly"
            )
        total = total + price * request.gpus
    if request.cpu:
        total = total + prices.cpu_hour * request.cpu
        if prices.cpu_is_default:
            price_notes.append(f"CPU priced at OpenCost's default {prices.cpu_hour.exact()} per core-hour: "
                               "set b00t:prices.cpuHour")
    if request.memory:
        total = total + prices.memory_gib_hour * (request.memory / _GIB)
        if prices.memory_is_default:
            price_notes.append(f"memory priced at OpenCost's default {prices.memory_gib_hour.exact()} per "
                               "GiB-hour: set b00t:prices.memoryGibHour")
    return HourlyRate(total, gpu_type, tuple(notes), tuple(dict.fromkeys(price_notes)))


def _hours(seconds: Any, what: str) -> Decimal:
    d = to_decimal(seconds, what)
    if d < 0:
        raise PricingError(f"{what}: expected seconds >= 0, got {seconds!r}")
    return d / _SECONDS_PER_HOUR


def _nothing_to_price(with_cost_per_job: bool) -> PricingError:
    keys = (RESOURCES_KEY, COST_PER_JOB_KEY) if with_cost_per_job else (RESOURCES_KEY,)
    return PricingError(
        "requests no GPU, CPU or memory, so nothing prices it: set "
        + (f"{RESOURCES_KEY} (cpu, memory) or {COST_PER_JOB_KEY}" if with_cost_per_job else f"{RESOURCES_KEY} "
           "(cpu, memory)"),
        keys,
    )


def price_run(
    request: PodRequest,
    *,
    prices: PriceList,
    pod_seconds: int | float | Decimal | None,
    cost_per_job: Money | None = None,
    gpu_candidates: Sequence[str] = (),
) -> Priced:
    """One run: ``cost_per_job`` when set, else the hourly rate x ``pod_seconds`` / 3600."""
    if cost_per_job is not None:
        if cost_per_job.currency != prices.currency:
            raise PricingError(f"cost_per_job is in {cost_per_job.currency}, the budget in {prices.currency}")
        return Priced(cost_per_job, f"cost_per_job {cost_per_job}")
    if pod_seconds is None:
        raise PricingError(
            f"has no price: no cost_per_job and no estimated_duration to price its resources by; set "
            f"{COST_PER_JOB_KEY} or {DURATION_KEY}",
            (DURATION_KEY, COST_PER_JOB_KEY),
        )
    if request.empty:
        raise _nothing_to_price(True)
    rate = hourly_rate(request, prices, gpu_candidates)
    hours = _hours(pod_seconds, "duration")
    return Priced(rate.per_hour * hours, f"{request.describe()} at {rate.per_hour.exact()}/h x {hours.normalize():f} h",
                  rate.notes, rate.price_notes)


def run_cost(
    request: PodRequest,
    *,
    prices: PriceList,
    pod_seconds: int | float | Decimal | None,
    cost_per_job: Money | None = None,
    gpu_candidates: Sequence[str] = (),
) -> Money:
    """What a run costs: ``cost_per_job`` when the datum sets a flat price, else the prices of what
    its pods requested x their (estimated or measured) seconds. One call for planning and settling."""
    return price_run(request, prices=prices, pod_seconds=pod_seconds, cost_per_job=cost_per_job,
                     gpu_candidates=gpu_candidates).cost


def price_deployment(
    request: PodRequest,
    *,
    prices: PriceList,
    replicas: int,
    hours: int | Decimal = HOURS_PER_DAY,
    gpu_candidates: Sequence[str] = (),
    replicas_text: str | None = None,
) -> Priced:
    """``replicas`` pods for ``hours``: hourly rate x replicas x hours."""
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise PricingError(f"replicas: expected a whole number >= 0, got {replicas!r}")
    if request.empty:
        raise _nothing_to_price(False)
    rate = hourly_rate(request, prices, gpu_candidates)
    h = to_decimal(hours, "hours")
    text = replicas_text or f"{replicas} replica{'s' if replicas != 1 else ''}"
    return Priced(rate.per_hour * (h * replicas), f"{text} x {request.describe()} at {rate.per_hour.exact()}/h x {h} h",
                  rate.notes, rate.price_notes)


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    tmpl = ((obj.get("spec") or {}).get("template") or {}).get("metadata") or {}
    return {**((obj.get("metadata") or {}).get("annotations") or {}), **(tmpl.get("annotations") or {})}


def hpa_for(deployment: Mapping[str, Any], objects: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The HorizontalPodAutoscaler that scales ``deployment`` (same namespace, scaleTargetRef), if any."""
    meta = deployment.get("metadata") or {}
    for o in objects:
        if o.get("kind") != "HorizontalPodAutoscaler":
            continue
        ref = (o.get("spec") or {}).get("scaleTargetRef") or {}
        if (ref.get("kind") == "Deployment" and ref.get("name") == meta.get("name")
                and (o.get("metadata") or {}).get("namespace") == meta.get("namespace")):
            return o
    return None


def price_workload(
    obj: Mapping[str, Any],
    *,
    prices: PriceList,
    hpa: Mapping[str, Any] | None = None,
    duration_s: int | float | Decimal | None = None,
    cost_per_job: Money | None = None,
    gpu_candidates: Sequence[str] = (),
    hours: int | Decimal = HOURS_PER_DAY,
) -> Priced:
    """A planned Job (one run) or Deployment (``hours`` of it) priced from its own pod template.

    The GPU type comes from the ``b00t.io/gpu-type`` annotation. A Deployment's replicas are
    ``spec.replicas``, or with ``hpa`` its ``maxReplicas`` (the floor, ``minReplicas``, is what runs
    for sure; the budget counts what may run). Errors name the object.
    """
    kind = str(obj.get("kind"))
    name = f"{kind} {(obj.get('metadata') or {}).get('name')}"
    spec = obj.get("spec") or {}
    pod = (spec.get("template") or {}).get("spec") or {}
    gpu_type = _annotations(obj).get(GPU_TYPE_ANNOTATION) or None
    request = PodRequest.of_pod(pod, str(gpu_type) if gpu_type else None)
    try:
        if kind == "Job":
            runs = int(spec.get("completions") or 1)
            seconds = None if duration_s is None else to_decimal(duration_s, "duration") * runs
            return price_run(request, prices=prices, pod_seconds=seconds, cost_per_job=cost_per_job,
                             gpu_candidates=gpu_candidates)
        if kind == "Deployment":
            if "replicas" in spec:
                return price_deployment(request, prices=prices, replicas=int(spec["replicas"]), hours=hours,
                                        gpu_candidates=gpu_candidates)
            if hpa is not None:
                hs = hpa.get("spec") or {}
                top, floor = int(hs.get("maxReplicas", 1)), int(hs.get("minReplicas", 1))
                return price_deployment(request, prices=prices, replicas=top, hours=hours,
                                        gpu_candidates=gpu_candidates,
                                        replicas_text=f"up to {top} replicas (HPA floor {floor}, max {top})")
            return price_deployment(request, prices=prices, replicas=1, hours=hours, gpu_candidates=gpu_candidates)
    except PricingError as exc:
        raise exc.about(name) from None
    raise PricingError(f"a {kind} has no price model (Jobs and Deployments have)", item=name)
