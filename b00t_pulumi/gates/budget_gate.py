"""``BudgetGate``: a Pulumi dynamic resource around the budget controller and its ledger.

One gate per BudgetConstraint. ``check`` (run by ``pulumi preview`` and ``pulumi up``) projects the
current window's spend — ledger spend plus the new costs, not counting what this gate already
reserved — and fails with an actionable message when it passes the limit under
``on_budget_exceeded = "fail"``. ``create``/``update`` reserve atomically in the ledger with ids that
make a re-run a no-op; an item whose cost changed within the window is re-priced (the ledger counts
the new estimate instead of the old), and one whose new cost no longer fits has its old estimate
released; ``delete`` releases what was reserved and not spent. Under ``defer`` the items
beyond the budget are listed in ``deferred`` (their Jobs are created suspended with
``b00t.io/deferred-until``); under ``alert`` the webhook is told and the deploy goes on.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult

from b00t_pulumi.errors import B00tError
from b00t_pulumi.gates.budget_check import (
    INPUT_KEYS,
    check_failures,
    constraint_of,
    controller_of,
    items_of,
    window_key,
)
from b00t_pulumi.gates.epoch_plan import _unknown


class BudgetGateProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if _unknown(news):
            return CheckResult(news, [])
        return CheckResult(news, [CheckFailure(prop, msg) for prop, msg in check_failures(news, olds)])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in INPUT_KEYS if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], stables=[k for k in INPUT_KEYS if k not in changed],
                          delete_before_replace=False)

    def _apply(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        items = items_of(props, window_key(props))
        constraint = constraint_of(props)
        controller = controller_of(props)
        try:
            keep = {i.id for i in items}
            before = (olds or {}).get("reserved", []) or []
            released = [rid for rid in before if rid not in keep and controller.release(rid) is not None]
            # This gate's items whose cost changed are released first and reserved again at the new
            # cost below, in item order, as check projected them (not counting this gate's own).
            cost = {i.id: i.cost for i in items}
            for rid in before:
                r = controller.ledger.get(rid) if rid in keep else None
                if r is not None and r.state == "reserved" and cost.get(rid) not in (None, r.amount):
                    controller.release(rid)
            decisions = controller.reserve_all(props["constraint_id"], constraint, items)
            # An item this gate counted before whose new cost no longer fits is deferred or rejected
            # now: its earlier estimate must not stay counted (the ledger left it as it was).
            approved = {d.reservation_id for d in decisions if d.approved and d.reservation_id}
            released += [rid for rid in before
                         if rid in keep and rid not in approved and controller.release(rid) is not None]
            rejected = [d for d in decisions if d.kind == "rejected"]
            if rejected:
                # check passed, but spend arrived since (another deploy); nothing after it was reserved
                raise B00tError(f"{props['subject']}: {rejected[0].reason}")
            spend = controller.spend(props["constraint_id"], constraint).to_json()
        finally:
            controller.ledger.close()
        reserved = [d.reservation_id for d in decisions if d.approved and d.reservation_id]
        deferred = {item.name: d.to_dict()["next_window_start"]
                    for item, d in zip(items, decisions, strict=True) if d.kind == "deferred"}
        alerts = sum(1 for d in decisions if d.kind == "alert")
        return {**{k: props.get(k) for k in INPUT_KEYS}, "reserved": reserved, "released": released,
                "deferred": deferred, "alerts": alerts, "spend": spend,
                "outcome": "deferred" if deferred else ("alert" if alerts else "approved")}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._apply(props, None)
        return CreateResult(f"budgetgate-{hashlib.sha256(props['constraint_id'].encode()).hexdigest()[:12]}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news, olds))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        controller = controller_of(props)
        for rid in props.get("reserved", []) or []:
            controller.release(rid)  # releases only what is reserved and not yet spent
        controller.ledger.close()


class BudgetGate(pulumi.dynamic.Resource):
    """Gate of one BudgetConstraint. ``deferred``: item name -> next window start (ISO)."""

    reserved: pulumi.Output[list[str]]
    deferred: pulumi.Output[dict[str, str]]
    outcome: pulumi.Output[str]
    spend: pulumi.Output[str]

    def __init__(self, name: str, inputs: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(BudgetGateProvider(), name,
                         {**inputs, "reserved": None, "released": None, "deferred": None, "alerts": None,
                          "spend": None, "outcome": None}, opts)
