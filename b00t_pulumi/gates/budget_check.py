"""What the BudgetGate decides before anything changes (pure: no pulumi): the projection of a window's
spend and the failures ``pulumi preview`` reports. ``b00t-pulumi validate`` runs the same check."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from b00t_pulumi.budget.items import reservation_id
from b00t_pulumi.epoch.deploy import clock_now as _now
from b00t_pulumi.errors import B00tError

INPUT_KEYS = ("constraint_id", "subject", "constraint", "items", "ledger", "window")


def constraint_of(props: dict[str, Any]) -> Any:
    from b00t_pulumi.datum.orchestration import BudgetConstraint

    c = {k: v for k, v in props["constraint"].items() if v is not None}
    return BudgetConstraint.model_validate(c)


def controller_of(props: dict[str, Any]) -> Any:
    from b00t_pulumi.budget import BudgetController, open_ledger

    return BudgetController(open_ledger(props["ledger"]), clock=lambda: datetime.fromtimestamp(_now(), UTC))


def items_of(props: dict[str, Any], window_key: str) -> list[Any]:
    from b00t_pulumi.budget import CostItem, Money

    currency = props["constraint"].get("currency") or "USD"
    return [CostItem(id=reservation_id(props["constraint_id"], i["id"], window_key),
                     cost=Money.of(i["cost"], i.get("currency") or currency), kind=i["kind"], name=i["name"])
            for i in props.get("items", [])]


def window_key(props: dict[str, Any]) -> str:
    from b00t_pulumi.budget import current_window

    c = constraint_of(props)
    return str(current_window(c.reset_schedule, c.timezone, datetime.fromtimestamp(_now(), UTC)).key)


def project(props: dict[str, Any], olds: dict[str, Any] | None = None) -> Any:
    """The controller's projection for these inputs; reservations the old state holds and the new
    inputs drop are excluded (they are released by the update)."""
    items = items_of(props, window_key(props))
    keep = {i.id for i in items}
    dropped = [r for r in (olds or {}).get("reserved", []) or [] if r not in keep]
    controller = controller_of(props)
    try:
        return controller.project(props["constraint_id"], constraint_of(props), items, exclude=dropped)
    finally:
        controller.ledger.close()



def check_failures(news: dict[str, Any], olds: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """(input property, message) of what makes the gate refuse these inputs; none when it passes."""
    try:
        projection = project(news, olds)
    except B00tError as exc:
        return [("constraint", f"{news.get('subject')}: {p.message}") for p in exc.problems]
    if projection.exceeds and news["constraint"].get("on_budget_exceeded") == "fail":
        return [("items", projection.message(news["subject"]))]
    return []
