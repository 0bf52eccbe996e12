"""What the budget controller decides for one cost: Approved, Alert, Deferred or Rejected.

Every decision carries the constraint, the cost, the window's spend after the decision, the limit
and the window; ``to_dict()`` is its JSON form (amounts as exact decimal strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import Window, iso_utc


@dataclass(frozen=True)
class Decision:
    kind: ClassVar[str] = "decision"
    #: True when the cost is (or was already) counted and the work may run
    approved: ClassVar[bool] = False

    constraint_id: str
    cost: Money
    #: the window's spend after this decision (approved: including the cost; otherwise unchanged)
    spend: Money
    limit: Money
    window: Window
    reservation_id: str | None

    @property
    def remaining(self) -> Money:
        """limit - spend (negative when an ``alert`` policy let the spend go past the limit)."""
        return self.limit - self.spend

    @property
    def percentage_used(self) -> Decimal:
        return (self.spend.amount / self.limit.amount * 100) if self.limit.amount else Decimal(0)

    @property
    def exit_code(self) -> int:
        """CLI convention: 0 approved, 3 deferred or rejected."""
        return 0 if self.approved else 3

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.kind,
            "approved": self.approved,
            "constraint_id": self.constraint_id,
            "reservation_id": self.reservation_id,
            "cost": self.cost.to_json(),
            "spend": self.spend.to_json(),
            "limit": self.limit.to_json(),
            "remaining": self.remaining.to_json(),
            "currency": self.limit.currency,
            "percentage_used": str(self.percentage_used.quantize(Decimal("0.01"))),
            "window": self.window.to_dict(),
        }

    def summary(self) -> str:
        return (
            f"{self.kind}: {self.constraint_id} {self.cost} -> spend {self.spend} of {self.limit} "
            f"(remaining {self.remaining})"
        )


@dataclass(frozen=True)
class Approved(Decision):
    kind: ClassVar[str] = "approved"
    approved: ClassVar[bool] = True
    #: the reservation id was already counted: nothing new was counted this time
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "replayed": self.replayed}


@dataclass(frozen=True)
class Alert(Decision):
    """Approved, but the spend is at or past ``alert_threshold`` (or past the limit under ``alert``)."""

    kind: ClassVar[str] = "alert"
    approved: ClassVar[bool] = True
    threshold: Decimal = Decimal(1)
    over_limit: bool = False
    #: True sent now, False failed or already sent this window, None no webhook / not attempted
    alert_sent: bool | None = None
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "threshold": str(self.threshold),
            "over_limit": self.over_limit,
            "alert_sent": self.alert_sent,
            "replayed": self.replayed,
        }


@dataclass(frozen=True)
class Deferred(Decision):
    """Over the limit under ``defer``: run it from ``next_window_start`` instead."""

    kind: ClassVar[str] = "deferred"
    reason: str = ""
    next_window_start: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "reason": self.reason,
            "next_window_start": iso_utc(self.next_window_start) if self.next_window_start else None,
        }

    def summary(self) -> str:
        return f"deferred: {self.reason}"


@dataclass(frozen=True)
class Rejected(Decision):
    """Over the limit under ``fail``."""

    kind: ClassVar[str] = "rejected"
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "reason": self.reason}

    def summary(self) -> str:
        return f"rejected: {self.reason}"
