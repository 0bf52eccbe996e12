"""The items of a budget: every workload that names a BudgetConstraint, whatever its namespace.

One function, ``budget_items``, gives the list to the BudgetGate (what it reserves), the policy pack
(what it adds up) and ``budget check`` (what it states), so the three never disagree. It reads
what the planner wrote on each Job and Deployment (through ``budget.cost``):

- ``b00t.io/budget-constraint``: the BudgetConstraint's name (names are unique in a plan);
- ``b00t.io/estimated-cost`` (a Job's run) or ``b00t.io/estimated-daily-cost`` (a Deployment's day);
- ``b00t.io/budget-currency``: the currency of that amount (the budget's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget.money import Money
from b00t_pulumi.errors import B00tError

BUDGET_ANNOTATION = "b00t.io/budget-constraint"
JOB_COST_ANNOTATION = "b00t.io/estimated-cost"
DAILY_COST_ANNOTATION = "b00t.io/estimated-daily-cost"
CURRENCY_ANNOTATION = "b00t.io/budget-currency"
PULUMI_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # an Output not known during a preview
_KINDS = {"Deployment": ("deployment", DAILY_COST_ANNOTATION), "Job": ("job", JOB_COST_ANNOTATION)}


@dataclass(frozen=True)
class BudgetItem:
    """One Job run or one Deployment's window, counted in a budget.

    ``cost`` is None when it is not known yet (a preview's unknown) or when the object carries no
    usable cost (``problem`` says why: every item must be priced).
    """

    id: str  # "deployment/<name>" or "job/<name>": the item part of its reservation id
    kind: str  # "deployment" or "job"
    name: str
    namespace: str
    cost: Money | None
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{'Deployment' if self.kind == 'deployment' else 'Job'} {self.namespace}/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "name": self.name, "namespace": self.namespace,
                "cost": self.cost.to_json() if self.cost else None,
                "currency": self.cost.currency if self.cost else None, "problem": self.problem}


def _cost(value: Any, currency: Any, budget_currency: str | None, what: str) -> tuple[Money | None, str | None]:
    if value == PULUMI_UNKNOWN or currency == PULUMI_UNKNOWN:
        return None, None
    if value is None:
        return None, f"{what} carries no cost annotation: it cannot be counted"
    cur = str(currency) if currency else (budget_currency or "USD")
    try:
        money = Money.of(str(value), cur)
    except B00tError:
        return None, f"{what}: cost {value!r} {cur} is not an amount of money"
    if budget_currency and cur != budget_currency:
        return None, f"{what} is priced in {cur} but the budget is in {budget_currency}"
    return money, None


def budget_items(
    constraint: str,
    objects: Iterable[Mapping[str, Any]],
    *,
    currency: str | None = None,
    window_hours: float = 24,
) -> list[BudgetItem]:
    """Every Job and Deployment naming ``constraint``, in reservation order (Deployments first, the
    running infrastructure; then Jobs; each by name).

    A Deployment counts its daily cost in a daily window (23-25 h with DST); in a window of another
    length its hourly share of it. ``currency``: the budget's; an item in another is a problem.
    """
    items: list[BudgetItem] = []
    for o in objects:
        kind = str(o.get("kind", ""))
        if kind not in _KINDS:
            continue
        meta = o.get("metadata") or {}
        ann = meta.get("annotations") or {}
        if ann.get(BUDGET_ANNOTATION) != constraint:
            continue
        short, key = _KINDS[kind]
        name, ns = str(meta.get("name", "")), str(meta.get("namespace", ""))
        cost, problem = _cost(ann.get(key), ann.get(CURRENCY_ANNOTATION), currency, f"{kind} {ns}/{name}")
        if cost is not None and short == "deployment" and not 23 <= window_hours <= 25:
            cost = cost * (Decimal(str(window_hours)) / 24)
        items.append(BudgetItem(f"{short}/{name}", short, name, ns, cost, problem))
    return sorted(items, key=lambda i: (i.kind != "deployment", i.name, i.namespace))


def reservation_id(constraint_id: str, item_id: str, window_key: str) -> str:
    """Stable per constraint, item and window: re-running an update in the window never counts twice."""
    return f"{constraint_id}:{item_id}:{window_key}"
