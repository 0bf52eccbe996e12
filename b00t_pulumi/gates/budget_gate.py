"""``BudgetGate``: a Pulumi dynamic resource around the budget controller and its ledger.

One gate per BudgetConstraint. ``check`` (run by ``pulumi preview`` and ``pulumi up``) projects the
current window's spend — ledger spend plus the new costs, not counting what this gate already
reserved — and fails with an actionable message when it passes the limit under
``on_budget_exceeded = "fail"``. ``create``/``update`` reserve atomically in the ledger with ids that
make a re-run a no-op; ``delete`` releases what was reserved and not spent. Under ``defer`` the items
beyond the budget are listed in ``deferred`` (their Jobs are created suspended with
``b00t.io/deferred-until``); under ``alert`` the webhook is told and the deploy goes on.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ResourceProvider, UpdateResult

from b00t_pulumi.epoch.deploy import clock_now as _now
from b00t_pulumi.errors import B00tError
from b00t_pulumi.gates.decisions import reservation_id
from b00t_pulumi.gates.epoch_plan import _unknown

_INPUT_KEYS = ("constraint_id", "subject", "constraint", "items", "ledger", "window")


def _constraint(props: dict[str, Any]) -> Any:
    from b00t_pulumi.datum.orchestration import BudgetConstraint

    c = {k: v for k, v in props["constraint"].items() if v is not None}
    return BudgetConstraint.model_validate(c)


def _controller(props: dict[str, Any]) -> Any:
    from b00t_pulumi.budget import BudgetController, open_ledger

    return BudgetController(open_ledger(props["ledger"]), clock=lambda: datetime.fromtimestamp(_now(), UTC))


def _items(props: dict[str, Any], window_key: str) -> list[Any]:
    from b00t_pulumi.budget import CostItem, Money

    currency = props["constraint"].get("currency") or "USD"
    return [CostItem(id=reservation_id(props["constraint_id"], i["id"], window_key),
                     cost=Money.of(i["cost"], currency), kind=i["kind"], name=i["name"])
            for i in props.get("items", [])]


def window_key(props: dict[str, Any]) -> str:
    from b00t_pulumi.budget import current_window

    c = props["constraint"]
    return str(current_window(c.get("reset_schedule", "0 0 * * *"), c.get("timezone", "UTC"),
                              datetime.fromtimestamp(_now(), UTC)).key)


def project(props: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
    """The controller's projection for these inputs; reservations the old state holds and the new
    inputs drop are excluded (they are released by the update)."""
    items = _items(props, window_key(props))
    keep = {i.id for i in items}
    dropped = [r for r in (olds or {}).get("reserved", []) or [] if r not in keep]
    controller = _controller(props)
    try:
        return controller.project(props["constraint_id"], _constraint(props), items, exclude=dropped)
    finally:
        controller.ledger.close()


class BudgetGateProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        if _unknown(news):
            return CheckResult(news, [])
        try:
            projection = project(news, olds)
        except B00tError as exc:
            return CheckResult(news, [CheckFailure("constraint", f"{news.get('subject')}: {p.message}")
                                      for p in exc.problems])
        if projection.exceeds and news["constraint"].get("on_budget_exceeded") == "fail":
            return CheckResult(news, [CheckFailure("items", projection.message(news["subject"]))])
        return CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [k for k in _INPUT_KEYS if olds.get(k) != news.get(k)]
        return DiffResult(changes=bool(changed), replaces=[], stables=[k for k in _INPUT_KEYS if k not in changed],
                          delete_before_replace=False)

    def _apply(self, props: dict[str, Any], olds: dict[str, Any] | None) -> dict[str, Any]:
        items = _items(props, window_key(props))
        constraint = _constraint(props)
        controller = _controller(props)
        try:
            keep = {i.id for i in items}
            released = [rid for rid in (olds or {}).get("reserved", []) or []
                        if rid not in keep and controller.release(rid) is not None]
            decisions = controller.reserve_all(props["constraint_id"], constraint, items)
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
        return {**{k: props.get(k) for k in _INPUT_KEYS}, "reserved": reserved, "released": released,
                "deferred": deferred, "alerts": alerts, "spend": spend,
                "outcome": "deferred" if deferred else ("alert" if alerts else "approved")}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._apply(props, None)
        return CreateResult(f"budgetgate-{hashlib.sha256(props['constraint_id'].encode()).hexdigest()[:12]}", outs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._apply(news, olds))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        controller = _controller(props)
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
