"""The ledger interface: atomic reserve-if-within-limit, idempotent by reservation id.

A reservation is counted in the spend of one (constraint, window) from the moment it is reserved
until it is released. States: ``reserved`` (counted, may still be released), ``spent`` (counted for
good), ``released`` (not counted). Re-reserving an id never counts twice: it returns the existing
record; only a ``released`` id may be reserved again (that counts it again, if it fits).
A denied reservation leaves no record, so the number of records is the number of approvals.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Literal

from b00t_pulumi.budget._errors import budget_error
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import as_utc, iso_utc, parse_time
from b00t_pulumi.errors import BudgetError

State = Literal["reserved", "spent", "released"]
STATES: tuple[State, ...] = ("reserved", "spent", "released")
COUNTED: tuple[State, ...] = ("reserved", "spent")

_CONSTRAINT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$")
_RESERVATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+=-]{0,255}$")


def check_constraint_id(value: str) -> str:
    if not isinstance(value, str) or not _CONSTRAINT_ID.match(value):
        raise budget_error(
            f"constraint id {value!r}: use 1-253 letters, digits, '.', '_' or '-' (a datum id such as "
            "llm-inference-pipeline.stack)"
        )
    return value


def check_reservation_id(value: str) -> str:
    if not isinstance(value, str) or not _RESERVATION_ID.match(value):
        raise budget_error(
            f"reservation id {value!r}: use 1-256 letters, digits and . _ : / @ + = - (starting with a letter or digit)"
        )
    return value


def threshold_key(threshold: Decimal | float | str) -> str:
    """``0.8`` for 0.8, 0.80 and "0.8": one marker per threshold, however it is written."""
    d = Decimal(str(threshold)).normalize()
    return format(d, "f")


@dataclass(frozen=True)
class Reservation:
    """One ledger record."""

    id: str
    constraint_id: str
    window_start: datetime
    amount: Money
    state: State
    created_at: datetime
    updated_at: datetime

    @property
    def counted(self) -> bool:
        return self.state in COUNTED

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "constraint_id": self.constraint_id,
            "window_start": iso_utc(self.window_start),
            "amount": self.amount.to_json(),
            "currency": self.amount.currency,
            "state": self.state,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Reservation:
        return cls(
            id=str(d["id"]),
            constraint_id=str(d["constraint_id"]),
            window_start=parse_time(str(d["window_start"])),
            amount=Money.of(str(d["amount"]), str(d["currency"])),
            state=_state(d["state"]),
            created_at=parse_time(str(d["created_at"])),
            updated_at=parse_time(str(d["updated_at"])),
        )


def _state(value: Any) -> State:
    if value not in STATES:
        raise budget_error(f"ledger record has an unknown state {value!r}")
    s: State = value
    return s


@dataclass(frozen=True)
class ReserveResult:
    """What ``Ledger.reserve`` did.

    ``approved``: the reservation is (now or already) counted. ``replayed``: the id was already
    reserved or spent, so nothing new was counted. ``spend``: the window's spend after the call.
    ``reservation``: the record (None when denied: a denial leaves no record).
    """

    approved: bool
    replayed: bool
    spend: Money
    limit: Money | None
    reservation: Reservation | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "approved": self.approved,
            "replayed": self.replayed,
            "spend": self.spend.to_json(),
            "limit": self.limit.to_json() if self.limit is not None else None,
            "currency": self.spend.currency,
            "reservation": self.reservation.to_dict() if self.reservation else None,
        }


class Ledger(ABC):
    """Where spend is kept. Every method is atomic on its own; all raise BudgetError on failure."""

    #: the ledger URL as it may be shown to people: no passwords, tokens or secret query values
    display_url: str

    @abstractmethod
    def reserve(
        self,
        constraint_id: str,
        window_start: datetime,
        reservation_id: str,
        amount: Money,
        limit: Money | None,
    ) -> ReserveResult:
        """Count ``amount`` in the window if spend + amount <= limit (``limit=None``: always), atomically.

        The same id again returns the existing record (``replayed``) without counting it twice. The
        same id with another amount re-prices it while it is not spent (a later estimate of the same
        item in the same window replaces the earlier): the window's spend moves by the difference, if
        the new amount fits; a re-price that does not fit is a denial and leaves the record as it was.
        An id already used for another constraint, window or currency, or spent at another amount,
        is a BudgetError.
        """

    @abstractmethod
    def release(self, reservation_id: str) -> Reservation | None:
        """Stop counting a reservation that is not spent. Unknown id: None. Spent or released: unchanged."""

    @abstractmethod
    def mark_spent(self, reservation_id: str) -> Reservation:
        """Mark a reservation spent (it can no longer be released). Unknown or released id: BudgetError."""

    @abstractmethod
    def spend(self, constraint_id: str, window_start: datetime, currency: str) -> Money:
        """The window's spend: reserved + spent amounts (0 in ``currency`` when there are none)."""

    @abstractmethod
    def records(self, constraint_id: str | None = None, window_start: datetime | None = None) -> list[Reservation]:
        """Records, oldest first, optionally of one constraint and one window."""

    @abstractmethod
    def get(self, reservation_id: str) -> Reservation | None:
        """One record by id."""

    @abstractmethod
    def claim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> bool:
        """Set the alert marker of (constraint, window, threshold) atomically. True only for the caller that set it."""

    @abstractmethod
    def unclaim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> None:
        """Clear the marker (after a failed send, so a later crossing may alert again)."""

    def close(self) -> None:  # noqa: B027 - optional for backends without connections
        """Release connections."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- helpers for backends ------------------------------------------------------------------
    @staticmethod
    def _held(existing: Reservation | None, amount: Money) -> Money:
        """What an existing record counts now in its window (its amount while reserved; else 0)."""
        if existing is not None and existing.state == "reserved":
            return existing.amount
        return Money.zero(amount.currency)

    def _error(self, message: str) -> BudgetError:
        return budget_error(message, f"ledger {self.display_url}")

    @staticmethod
    def _check_reserve(
        constraint_id: str, window_start: datetime, reservation_id: str, amount: Money, limit: Money | None
    ) -> str:
        check_constraint_id(constraint_id)
        check_reservation_id(reservation_id)
        if not isinstance(amount, Money):
            raise budget_error(f"amount must be Money, got {type(amount).__name__}")
        if amount.amount < 0:
            raise budget_error(f"reservation {reservation_id}: amount cannot be negative, got {amount}")
        if limit is not None:
            _ = amount <= limit  # same currency or BudgetError
        return iso_utc(as_utc(window_start))

    def _conflict(self, existing: Reservation, constraint_id: str, window_key: str, amount: Money) -> None:
        """BudgetError when an id is reused for something else (a caller bug that must not count twice):
        another constraint, window or currency, or another amount once it is spent (a reserved or
        released record may be re-priced)."""
        if (
            existing.constraint_id != constraint_id
            or iso_utc(existing.window_start) != window_key
            or existing.amount.currency != amount.currency
            or (existing.state == "spent" and existing.amount != amount)
        ):
            raise self._error(
                f"reservation id {existing.id!r} is already used for {existing.amount} of "
                f"{existing.constraint_id} in the window starting {iso_utc(existing.window_start)}; "
                f"asked for {amount} of {constraint_id} in the window starting {window_key}: use another id"
            )
