"""A BudgetConstraint's ``status`` from the ledger (pure): window, spend, remaining, conditions.

Kubernetes keeps observed state in ``status``: the seed's ``spec.currentSpend`` is
``status.currentSpend`` here, written by the operator, never by ``pulumi up``.

- ``window.start`` / ``window.end``, ``lastReset`` (= window start): the current window;
- ``currentSpend``: everything counted in it (reserved + spent), ``reserved`` the part not yet settled,
  ``remaining`` = limit - currentSpend (negative past the limit under ``alert``);
- ``jobsRun``: Jobs settled in the window (finished, actual cost recorded);
- ``observedGeneration``: the spec generation this status was computed for;
- conditions ``WithinBudget``, ``AlertThresholdReached``, ``Exceeded`` (each True or False, with
  ``lastTransitionTime`` kept while the status does not change).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget.ledger.base import Reservation
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import Window, iso_utc
from b00t_pulumi.operator.contract import ACTUAL_PREFIX
from b00t_pulumi.operator.observed import iso

WITHIN = "WithinBudget"
ALERT = "AlertThresholdReached"
EXCEEDED = "Exceeded"
#: the keys the operator owns in ``status`` (a ledger backend may keep its own book beside them)
OWNED = ("window", "currentSpend", "reserved", "remaining", "currency", "jobsRun", "lastReset",
         "observedGeneration", "conditions")


def amount_text(m: Money) -> str:
    return m.to_json()


def _condition(kind: str, status: bool, reason: str, message: str, generation: int, now: float,
               previous: Sequence[dict[str, Any]]) -> dict[str, Any]:
    old = next((p for p in previous if p.get("type") == kind), None)
    text = "True" if status else "False"
    since = old.get("lastTransitionTime") if old and old.get("status") == text else None
    return {"type": kind, "status": text, "reason": reason, "message": message,
            "lastTransitionTime": since or iso(now), "observedGeneration": generation}


def budget_status(*, limit: Money, window: Window, spend: Money, records: Sequence[Reservation],
                  threshold: Decimal | None, generation: int, now: float,
                  previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The status fields the operator writes for one constraint (``OWNED`` keys)."""
    mine = [r for r in records if r.counted]
    reserved = sum((r.amount for r in mine if r.state == "reserved"), Money.zero(limit.currency))
    jobs_run = sum(1 for r in mine if r.id.startswith(ACTUAL_PREFIX))
    remaining = limit - spend
    over = spend > limit
    alert_at = limit * threshold if threshold is not None else None
    alerted = alert_at is not None and spend >= alert_at
    pct = (spend.amount / limit.amount * 100).quantize(Decimal("0.1")) if limit.amount else Decimal(0)
    summary = f"{spend} of {limit} ({pct}%) in the window {iso_utc(window.start)} .. {iso_utc(window.end)}"
    prev = list((previous or {}).get("conditions") or [])
    conditions = [
        _condition(WITHIN, not over, "Exceeded" if over else "WithinLimit", summary, generation, now, prev),
        _condition(ALERT, alerted, "ThresholdReached" if alerted else ("BelowThreshold" if alert_at else "NoThreshold"),
                   (f"alert threshold {threshold} ({alert_at}) reached: {summary}" if alerted
                    else f"alert threshold {threshold} ({alert_at}) not reached" if alert_at is not None
                    else "no alert_threshold set"), generation, now, prev),
        _condition(EXCEEDED, over, "OverLimit" if over else "WithinLimit", summary, generation, now, prev),
    ]
    return {
        "window": window.to_dict(),
        "currentSpend": amount_text(spend),
        "reserved": amount_text(reserved),
        "remaining": amount_text(remaining) if remaining.amount >= 0 else f"-{amount_text(-remaining)}",
        "currency": limit.currency,
        "jobsRun": jobs_run,
        "lastReset": iso_utc(window.start),
        "observedGeneration": generation,
        "conditions": conditions,
    }


def changed(current: dict[str, Any], want: dict[str, Any]) -> bool:
    """True when any owned field differs (a write is needed)."""
    return any(current.get(k) != want.get(k) for k in OWNED)


def thresholds_crossed(spend: Money, limit: Money, threshold: Decimal | None) -> list[Decimal]:
    """The alert thresholds ``spend`` has reached: ``threshold`` (a fraction) and 1 when past the limit."""
    out: list[Decimal] = []
    if threshold is not None and spend >= limit * threshold:
        out.append(threshold)
    if spend > limit and Decimal(1) not in out:
        out.append(Decimal(1))
    return out
