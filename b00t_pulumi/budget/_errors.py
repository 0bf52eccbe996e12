"""BudgetError with a location, so a message reads ``ledger sqlite:///x.db: ...`` or ``budget: ...``."""

from __future__ import annotations

from b00t_pulumi.errors import BudgetError, Problem


def budget_error(message: str, where: str = "budget") -> BudgetError:
    return BudgetError([Problem(where, "", message)])
