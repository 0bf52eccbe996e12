"""What a finished Job actually cost, from its pods' times (pure).

A pod holds its node's resources from ``status.startTime`` until its last container terminated
(``finishedAt``): that span, in whole seconds as Kubernetes records them, times the hourly price of
what the pod requested (GPUs by type, CPU, memory) is its cost. A Job costs the sum over its pods,
failed attempts included: they ran on the same GPUs. A flat ``cost_per_job`` replaces all of it.
A pod still shown running when its Job has finished counts until the Job's end; a Job whose pods are
gone (deleted, garbage-collected) counts one pod from its ``startTime`` to its end.

Amounts are rounded to ``QUANTUM`` (a millionth of the currency, banker's rounding) per Job, so
the ledger's sums are exact and anyone can recompute them from the same times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from b00t_pulumi.budget.money import Money
from b00t_pulumi.operator.observed import JobView, PodView, Resources

QUANTUM = Decimal("0.000001")

#: what a pod's run of so many seconds costs, by what it requested, in the budget's currency
RunPrice = Callable[[Resources, int], Money]


@dataclass(frozen=True)
class PodRun:
    pod: str
    seconds: int
    resources: Resources


@dataclass(frozen=True)
class Actual:
    """A Job's actual cost and how it was found."""

    amount: Money
    basis: str  # "flat" (cost_per_job) or "metered" (pod time x prices)
    runs: tuple[PodRun, ...] = ()

    @property
    def seconds(self) -> int:
        return sum(r.seconds for r in self.runs)

    def describe(self) -> str:
        exact = f"{self.amount.to_json()} {self.amount.currency}"  # not rounded to cents: the ledger's figure
        if self.basis == "flat":
            return f"{exact} flat cost_per_job"
        return f"{exact} for {self.seconds}s of pod time over {len(self.runs)} pod(s)"


def pod_runs(job: JobView, pods: Sequence[PodView]) -> list[PodRun]:
    """Each pod's seconds on its node (0 for a pod that never started)."""
    runs: list[PodRun] = []
    for pod in pods:
        if pod.start is None:
            continue
        end = pod.end if pod.end is not None else job.end_time
        if end is None:
            continue
        runs.append(PodRun(pod.name, max(0, round(end - pod.start)), pod.resources))
    if not pods and job.start_time is not None and job.end_time is not None:
        runs.append(PodRun("(job)", max(0, round(job.end_time - job.start_time)), job.resources))
    return runs


def actual_cost(job: JobView, pods: Sequence[PodView], *, flat: Money | None, price: RunPrice,
                currency: str) -> Actual:
    """The Job's actual cost: ``flat`` when the budget prices a job flat, else each pod's run ``price``d."""
    runs = tuple(pod_runs(job, pods))
    if flat is not None:
        return Actual(flat, "flat", runs)
    total = Money.zero(currency)
    for run in runs:
        total = total + price(run.resources, run.seconds)
    return Actual(Money(total.amount.quantize(QUANTUM, rounding=ROUND_HALF_EVEN), currency), "metered", runs)
