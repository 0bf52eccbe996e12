"""The budget controller: a cost -> Approved / Alert / Deferred / Rejected, counted in a Ledger.

- ``check`` says what ``reserve`` would decide now, without writing anything or alerting.
- ``reserve`` counts the cost atomically (idempotent by reservation id) and sends the alert of a
  threshold crossing once per window.
- ``project`` is for gates that decide about a whole set of jobs and deployments at once (preview):
  the projected spend = ledger spend - what these ids already hold + their new costs, which items fit
  in order, and the message to show when they do not.

Policies (``on_budget_exceeded``): ``defer`` -> Deferred until the next window; ``fail`` -> Rejected;
``alert`` -> counted anyway and Alert(over_limit=True) with an alert at 100 %.
At the limit is within it: spend + cost == limit is approved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget._errors import budget_error
from b00t_pulumi.budget.alerts import Alerter, WebhookAlerter, alert_payload
from b00t_pulumi.budget.decisions import Alert, Approved, Decision, Deferred, Rejected
from b00t_pulumi.budget.ledger import Ledger, Reservation
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.quota import constraint_currency
from b00t_pulumi.budget.window import Window, as_utc, current_window, iso_utc
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import BudgetError

log = logging.getLogger("b00t_pulumi.budget")

OVER_LIMIT_THRESHOLD = Decimal(1)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CostItem:
    """One job or deployment a gate wants to run, with the reservation id it will use."""

    id: str
    cost: Money
    kind: str = "job"  # "job" or "deployment"
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "cost": self.cost.to_json()}


@dataclass(frozen=True)
class Projection:
    """The spend a set of items would bring the window to, and which items fit."""

    constraint_id: str
    policy: str
    limit: Money
    window: Window
    ledger_spend: Money  # what the ledger holds now
    already_counted: Money  # part of ledger_spend held by these items' (or excluded) ids
    new_cost: Money  # sum of the items' costs
    fits: tuple[CostItem, ...]
    over: tuple[CostItem, ...]  # in order: the first that does not fit and everything after it
    alert_threshold: Decimal | None = None

    @property
    def base(self) -> Money:
        """Ledger spend that is not these items'."""
        return self.ledger_spend - self.already_counted

    @property
    def projected(self) -> Money:
        return self.base + self.new_cost

    @property
    def exceeds(self) -> bool:
        return self.projected > self.limit

    @property
    def over_by(self) -> Money:
        d = self.projected - self.limit
        return d if d.amount > 0 else Money.zero(self.limit.currency)

    @property
    def past_threshold(self) -> bool:
        return self.alert_threshold is not None and self.projected.amount >= self.limit.amount * self.alert_threshold

    @property
    def period(self) -> str:
        return "daily limit" if 23 <= self.window.hours <= 25 else "limit per window"

    @property
    def outcome(self) -> str:
        """approved | alert | deferred | rejected, for the whole set."""
        if self.exceeds:
            return {"defer": "deferred", "fail": "rejected"}.get(self.policy, "alert")
        return "alert" if self.past_threshold else "approved"

    def over_text(self) -> str:
        """``5 jobs x 2.50 over`` (or ``2 jobs and 1 deployment over``)."""
        items = self.over or ()
        if not items:
            return f"{self.over_by.display} over"
        costs = {i.cost for i in items}
        kinds = sorted({i.kind for i in items})
        if len(costs) == 1 and len(kinds) == 1:
            n = len(items)
            return f"{n} {kinds[0]}{'s' if n != 1 else ''} x {items[0].cost.display} over"
        counts = []
        for k in kinds:
            n = sum(1 for i in items if i.kind == k)
            counts.append(f"{n} {k}{'s' if n != 1 else ''}")
        return f"{' and '.join(counts)} over, {self.over_by.display} past the limit"

    def message(self, subject: str) -> str:
        """``stack X: projected 112.50 USD of 100.00 USD daily limit (5 jobs x 2.50 over); window resets ...``."""
        text = f"{subject}: projected {self.projected} of {self.limit} {self.period}"
        if self.exceeds:
            text += f" ({self.over_text()})"
        return f"{text}; window resets {iso_utc(self.window.end)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "constraint_id": self.constraint_id,
            "outcome": self.outcome,
            "policy": self.policy,
            "limit": self.limit.to_json(),
            "currency": self.limit.currency,
            "ledger_spend": self.ledger_spend.to_json(),
            "already_counted": self.already_counted.to_json(),
            "new_cost": self.new_cost.to_json(),
            "projected": self.projected.to_json(),
            "exceeds": self.exceeds,
            "over_by": self.over_by.to_json(),
            "window": self.window.to_dict(),
            "fits": [i.to_dict() for i in self.fits],
            "over": [i.to_dict() for i in self.over],
        }


@dataclass(frozen=True)
class BudgetStatus:
    constraint_id: str
    policy: str
    limit: Money
    spend: Money
    window: Window
    counted: int  # reservations counted in the window
    alert_threshold: Decimal | None = None
    records: tuple[Reservation, ...] = field(default=(), repr=False)

    @property
    def remaining(self) -> Money:
        return self.limit - self.spend

    @property
    def percentage_used(self) -> Decimal:
        return self.spend.amount / self.limit.amount * 100 if self.limit.amount else Decimal(0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "constraint_id": self.constraint_id,
            "on_budget_exceeded": self.policy,
            "limit": self.limit.to_json(),
            "spend": self.spend.to_json(),
            "remaining": self.remaining.to_json(),
            "currency": self.limit.currency,
            "percentage_used": str(self.percentage_used.quantize(Decimal("0.01"))),
            "alert_threshold": str(self.alert_threshold) if self.alert_threshold is not None else None,
            "reservations": self.counted,
            "window": self.window.to_dict(),
        }


class BudgetController:
    """Decisions for one ledger. ``clock`` gives "now" (UTC) when a call does not pass ``now``."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        alerter: Alerter | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.ledger = ledger
        self.alerter: Alerter = alerter if alerter is not None else WebhookAlerter()
        self.clock = clock

    # -- small helpers ---------------------------------------------------------------------------
    def _now(self, now: datetime | None) -> datetime:
        return as_utc(now if now is not None else self.clock())

    def window(self, constraint: BudgetConstraint, now: datetime | None = None) -> Window:
        return current_window(constraint.reset_schedule, constraint.timezone, self._now(now))

    @staticmethod
    def limit(constraint: BudgetConstraint, currency: str | None = None) -> Money:
        return Money(constraint.daily_limit, constraint_currency(constraint, currency))

    @staticmethod
    def _threshold(constraint: BudgetConstraint) -> Decimal | None:
        t = constraint.alert_threshold
        return Decimal(str(t)) if t is not None else None

    def _check_cost(self, constraint_id: str, cost: Money, limit: Money) -> None:
        if cost.currency != limit.currency:
            raise budget_error(
                f"{constraint_id}: the cost is in {cost.currency} but the budget is in {limit.currency} "
                "(b00t-pulumi does not convert currencies)"
            )
        if cost.amount < 0:
            raise budget_error(f"{constraint_id}: a cost cannot be negative, got {cost}")

    def spend(
        self, constraint_id: str, constraint: BudgetConstraint, now: datetime | None = None, currency: str | None = None
    ) -> Money:
        limit = self.limit(constraint, currency)
        return self.ledger.spend(constraint_id, self.window(constraint, now).start, limit.currency)

    def _over_reason(self, constraint_id: str, cost: Money, spend: Money, limit: Money, window: Window) -> str:
        return (
            f"{constraint_id}: {cost} would bring the spend to {spend + cost} of the {limit} limit "
            f"of the window {iso_utc(window.start)} .. {iso_utc(window.end)}"
        )

    def _decide(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        cost: Money,
        limit: Money,
        window: Window,
        approved: bool,
        spend: Money,
        reservation_id: str | None,
        replayed: bool,
        send_alert: bool,
    ) -> Decision:
        common: dict[str, Any] = {
            "constraint_id": constraint_id,
            "cost": cost,
            "limit": limit,
            "window": window,
            "reservation_id": reservation_id,
        }
        if not approved:
            reason = self._over_reason(constraint_id, cost, spend, limit, window)
            if constraint.on_budget_exceeded == "fail":
                return Rejected(spend=spend, reason=f"{reason}; on_budget_exceeded = fail", **common)
            return Deferred(
                spend=spend,
                reason=f"{reason}; deferred until {iso_utc(window.end)}",
                next_window_start=window.end,
                **common,
            )
        threshold = self._threshold(constraint)
        over = spend > limit
        crossed: Decimal | None = None
        if over:
            crossed = OVER_LIMIT_THRESHOLD
        elif threshold is not None and spend.amount >= limit.amount * threshold:
            crossed = threshold
        if crossed is None:
            return Approved(spend=spend, replayed=replayed, **common)
        sent = self._alert(constraint_id, constraint, window, spend, limit, crossed) if send_alert else None
        return Alert(
            spend=spend,
            threshold=crossed,
            over_limit=over,
            alert_sent=sent,
            replayed=replayed,
            **common,
        )

    def _alert(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        window: Window,
        spend: Money,
        limit: Money,
        threshold: Decimal,
    ) -> bool | None:
        """Send once per (window, threshold): the ledger marker decides who sends. Never raises."""
        if not constraint.n8n_webhook:
            return None
        try:
            if not self.ledger.claim_alert(constraint_id, window.start, threshold):
                return False  # already sent in this window
        except BudgetError as exc:
            log.warning("budget alert for %s not sent: %s", constraint_id, exc)
            return False
        ok = False
        try:
            ok = self.alerter.send(constraint.n8n_webhook, alert_payload(constraint_id, spend, limit, self._now(None)))
        except Exception as exc:  # an alerter must never block a decision
            log.warning("budget alert for %s failed: %s", constraint_id, type(exc).__name__)
        if not ok:
            try:  # let a later crossing in this window try again
                self.ledger.unclaim_alert(constraint_id, window.start, threshold)
            except BudgetError as exc:
                log.warning("budget alert marker for %s not cleared: %s", constraint_id, exc)
        return ok

    # -- decisions -------------------------------------------------------------------------------
    def check(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        cost: Money,
        *,
        now: datetime | None = None,
        currency: str | None = None,
    ) -> Decision:
        """What ``reserve`` would decide now for a new id. Writes nothing, sends nothing."""
        limit = self.limit(constraint, currency)
        self._check_cost(constraint_id, cost, limit)
        window = self.window(constraint, now)
        spend = self.ledger.spend(constraint_id, window.start, limit.currency)
        fits = constraint.on_budget_exceeded == "alert" or spend + cost <= limit
        after = spend + cost if fits else spend
        return self._decide(constraint_id, constraint, cost, limit, window, fits, after, None, False, False)

    def reserve(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        cost: Money,
        reservation_id: str,
        *,
        now: datetime | None = None,
        currency: str | None = None,
    ) -> Decision:
        """Count ``cost`` in the current window if the policy allows it (atomic, idempotent by id)."""
        limit = self.limit(constraint, currency)
        self._check_cost(constraint_id, cost, limit)
        window = self.window(constraint, now)
        ledger_limit = None if constraint.on_budget_exceeded == "alert" else limit
        result = self.ledger.reserve(constraint_id, window.start, reservation_id, cost, ledger_limit)
        return self._decide(
            constraint_id,
            constraint,
            cost,
            limit,
            window,
            result.approved,
            result.spend,
            reservation_id,
            result.replayed,
            send_alert=result.approved,
        )

    def reserve_all(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        items: Sequence[CostItem],
        *,
        now: datetime | None = None,
        currency: str | None = None,
    ) -> list[Decision]:
        """Reserve items in order; after the first one that does not fit, the rest are not reserved
        (they get the same Deferred/Rejected decision), so the order of the items is the priority."""
        out: list[Decision] = []
        stopped: Decision | None = None
        for item in items:
            if stopped is None:
                d = self.reserve(constraint_id, constraint, item.cost, item.id, now=now, currency=currency)
                if not d.approved:
                    stopped = d
                out.append(d)
                continue
            window = stopped.window
            limit = stopped.limit
            self._check_cost(constraint_id, item.cost, limit)
            out.append(
                self._decide(
                    constraint_id, constraint, item.cost, limit, window, False, stopped.spend, item.id, False, False
                )
            )
        return out

    def project(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        items: Sequence[CostItem],
        *,
        exclude: Iterable[str] = (),
        now: datetime | None = None,
        currency: str | None = None,
    ) -> Projection:
        """The spend the items would bring the current window to. Read-only.

        Ledger amounts already held by the items' ids (a re-run) or by ``exclude`` ids (reservations
        the caller is about to release) are not counted twice. Items fit in order: reserved ones
        first, then new ones until the first that would pass the limit (policy ``alert``: all fit).
        """
        limit = self.limit(constraint, currency)
        window = self.window(constraint, now)
        for item in items:
            self._check_cost(constraint_id, item.cost, limit)
        ids = [i.id for i in items]
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise budget_error(f"{constraint_id}: duplicate reservation ids {', '.join(dup)}")
        ledger_spend = self.ledger.spend(constraint_id, window.start, limit.currency)
        held = {r.id: r for r in self.ledger.records(constraint_id, window.start) if r.counted}
        mine = set(ids) | set(exclude)
        already = sum((r.amount for rid, r in held.items() if rid in mine), Money.zero(limit.currency))
        running = ledger_spend - already
        reserved = [i for i in items if i.id in held]
        fresh = [i for i in items if i.id not in held]
        for item in reserved:
            running = running + item.cost
        fits: list[CostItem] = list(reserved)
        over: list[CostItem] = []
        for item in fresh:
            if not over and (constraint.on_budget_exceeded == "alert" or running + item.cost <= limit):
                running = running + item.cost
                fits.append(item)
            else:
                over.append(item)
        order = {i.id: n for n, i in enumerate(items)}
        return Projection(
            constraint_id=constraint_id,
            policy=constraint.on_budget_exceeded,
            limit=limit,
            window=window,
            ledger_spend=ledger_spend,
            already_counted=already,
            new_cost=sum((i.cost for i in items), Money.zero(limit.currency)),
            fits=tuple(sorted(fits, key=lambda i: order[i.id])),
            over=tuple(over),
            alert_threshold=self._threshold(constraint),
        )

    def release(self, reservation_id: str) -> Reservation | None:
        return self.ledger.release(reservation_id)

    def mark_spent(self, reservation_id: str) -> Reservation:
        return self.ledger.mark_spent(reservation_id)

    def status(
        self,
        constraint_id: str,
        constraint: BudgetConstraint,
        *,
        now: datetime | None = None,
        currency: str | None = None,
    ) -> BudgetStatus:
        limit = self.limit(constraint, currency)
        window = self.window(constraint, now)
        records = tuple(self.ledger.records(constraint_id, window.start))
        spend = self.ledger.spend(constraint_id, window.start, limit.currency)
        return BudgetStatus(
            constraint_id=constraint_id,
            policy=constraint.on_budget_exceeded,
            limit=limit,
            spend=spend,
            window=window,
            counted=sum(1 for r in records if r.counted),
            alert_threshold=self._threshold(constraint),
            records=records,
        )
