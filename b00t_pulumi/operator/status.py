"""A BudgetConstraint's ``status`` from the ledger (pure), in the one API definition (``budget.api``).

Kubernetes keeps observed state in ``status``: the seed's ``spec.currentSpend`` is
``status.currentSpend`` here, written by the operator, never by ``pulumi up``. The fields and their
meaning are ``budget.api.STATUS_SCHEMA``'s (the ``k8s://`` ledger's ``summarize`` writes the same ones
from its own book): ``windowStart``/``windowEnd``/``lastReset`` of the current window,
``currentSpend`` (reserved + spent), ``reserved``, ``remaining`` (limit - spend, negative past the
limit under ``alert``), ``jobsRun`` (counted records of the window), ``observedGeneration`` and the
conditions ``WithinBudget``, ``AlertThresholdReached``, ``Exceeded`` (``budget.api.conditions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget import api
from b00t_pulumi.budget.ledger.base import Reservation
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import Window, iso_utc

#: the keys the operator writes in ``status`` (a ledger backend may keep its own book beside them)
OWNED = ("windowStart", "windowEnd", "lastReset", "currentSpend", "reserved", "remaining", "jobsRun",
         "observedGeneration", "conditions")


def budget_status(*, spec: Mapping[str, Any], limit: Money, window: Window, spend: Money,
                  records: Sequence[Reservation], generation: int, now: float,
                  previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The status fields the operator writes for one constraint (``OWNED`` keys)."""
    key = iso_utc(window.start)
    mine = [r for r in records if iso_utc(r.window_start) == key]
    reserved = sum((r.amount.amount for r in mine if r.state == "reserved"), Decimal(0))
    prev = list((previous or {}).get("conditions") or [])
    return {
        "windowStart": key,
        "windowEnd": iso_utc(window.end),
        "lastReset": key,
        "currentSpend": api.amount_str(spend.amount),
        "reserved": api.amount_str(reserved),
        "remaining": api.amount_str((limit - spend).amount),
        "jobsRun": sum(1 for r in mine if r.state != "released"),
        "observedGeneration": generation,
        "conditions": api.conditions(spec, spend.amount, key, generation, prev, datetime.fromtimestamp(now, UTC)),
    }


def changed(current: Mapping[str, Any], want: Mapping[str, Any]) -> bool:
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
