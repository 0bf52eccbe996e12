"""The ledger contract, on every backend (sqlite file, DynamoDB through moto, k8s through a fake API)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from b00t_pulumi.budget import Ledger, Money
from b00t_pulumi.budget.ledger.k8s import K8sLedger
from b00t_pulumi.errors import BudgetError

W = datetime(2026, 11, 22, tzinfo=UTC)
W2 = datetime(2026, 11, 23, tzinfo=UTC)
LIMIT = Money.of("10.00")
C = "a.stack"


def test_reserve_under_at_and_over_the_limit(ledger: Ledger) -> None:
    r = ledger.reserve(C, W, "r1", Money.of("4.00"), LIMIT)
    assert (r.approved, r.replayed, r.spend) == (True, False, Money.of(4))
    assert r.reservation is not None and r.reservation.state == "reserved"
    r = ledger.reserve(C, W, "r2", Money.of("6.00"), LIMIT)  # exactly at the limit: within it
    assert r.approved and r.spend == LIMIT
    r = ledger.reserve(C, W, "r3", Money.of("0.01"), LIMIT)  # a cent over
    assert (r.approved, r.reservation, r.spend) == (False, None, LIMIT)
    assert ledger.get("r3") is None  # a denial leaves no record
    assert ledger.spend(C, W, "USD") == LIMIT
    assert [x.id for x in ledger.records(C, W)] == ["r1", "r2"]


def test_amount_above_the_whole_limit_is_denied(ledger: Ledger) -> None:
    r = ledger.reserve(C, W, "big", Money.of("10.01"), LIMIT)
    assert not r.approved and r.spend == Money.of(0)


def test_reserve_is_idempotent(ledger: Ledger) -> None:
    first = ledger.reserve(C, W, "job-1", Money.of("2.50"), LIMIT)
    again = ledger.reserve(C, W, "job-1", Money.of("2.50"), LIMIT)
    assert again.approved and again.replayed
    assert again.reservation == first.reservation
    assert ledger.spend(C, W, "USD") == Money.of("2.50")
    assert len(ledger.records()) == 1
    # a replay is approved even when the window has since filled up
    ledger.reserve(C, W, "job-2", Money.of("7.50"), LIMIT)
    assert ledger.reserve(C, W, "job-1", Money.of("2.50"), LIMIT).approved


def test_reusing_an_id_for_something_else_is_an_error(ledger: Ledger) -> None:
    ledger.reserve(C, W, "job-1", Money.of("2.50"), LIMIT)
    with pytest.raises(BudgetError, match="already used"):
        ledger.reserve(C, W2, "job-1", Money.of("2.50"), LIMIT)
    with pytest.raises(BudgetError, match=r"already used|kept in USD"):
        ledger.reserve(C, W, "job-1", Money.of("2.50", "EUR"), None)
    ledger.mark_spent("job-1")
    with pytest.raises(BudgetError, match="already used"):  # what was spent is never re-priced
        ledger.reserve(C, W, "job-1", Money.of("3.00"), LIMIT)
    assert ledger.reserve(C, W, "job-1", Money.of("2.50"), LIMIT).replayed
    if isinstance(ledger, K8sLedger):
        # k8s keeps each constraint's reservations in its own object: ids are unique per constraint
        assert ledger.reserve("b.stack", W, "job-1", Money.of("2.50"), LIMIT).approved
        return
    with pytest.raises(BudgetError, match="already used"):
        ledger.reserve("b.stack", W, "job-1", Money.of("2.50"), LIMIT)


def test_a_reserved_id_is_re_priced_by_the_difference_within_the_limit(ledger: Ledger) -> None:
    """A later estimate of the same item in the same window (a deploy that changed its cost)
    replaces the earlier one: the window counts the new amount once, not both."""
    ledger.reserve(C, W, "deployment/api", Money.of("2.50"), LIMIT)
    ledger.reserve(C, W, "job-2", Money.of("4.00"), LIMIT)
    r = ledger.reserve(C, W, "deployment/api", Money.of("3.00"), LIMIT)
    assert (r.approved, r.replayed, r.spend) == (True, False, Money.of("7.00"))
    got = ledger.get("deployment/api")
    assert got is not None and got.amount == Money.of("3.00") and got.state == "reserved"
    assert ledger.reserve(C, W, "deployment/api", Money.of("3.00"), LIMIT).replayed
    # a re-price that does not fit is a denial and changes nothing
    denied = ledger.reserve(C, W, "deployment/api", Money.of("6.50"), LIMIT)
    assert (denied.approved, denied.spend) == (False, Money.of("7.00"))
    assert ledger.get("deployment/api") == got
    assert ledger.spend(C, W, "USD") == Money.of("7.00")
    r = ledger.reserve(C, W, "deployment/api", Money.of("1.00"), LIMIT)  # cheaper: frees room
    assert r.approved and r.spend == Money.of("5.00")
    # a released id is reserved again at its new amount
    ledger.release("deployment/api")
    again = ledger.reserve(C, W, "deployment/api", Money.of("2.00"), LIMIT)
    assert again.approved and again.spend == Money.of("6.00")
    released_then = ledger.get("deployment/api")
    assert released_then is not None and released_then.amount == Money.of("2.00")


def test_release_and_reserve_again(ledger: Ledger) -> None:
    ledger.reserve(C, W, "r1", Money.of("8"), LIMIT)
    assert not ledger.reserve(C, W, "r2", Money.of("5"), LIMIT).approved
    released = ledger.release("r1")
    assert released is not None and released.state == "released"
    assert ledger.spend(C, W, "USD") == Money.of(0)
    assert ledger.release("r1") == released  # releasing twice changes nothing
    assert ledger.release("nope") is None
    assert ledger.reserve(C, W, "r2", Money.of("5"), LIMIT).approved
    # a released id may be reserved again (counted again, if it fits)
    assert not ledger.reserve(C, W, "r1", Money.of("8"), LIMIT).approved
    again = ledger.reserve(C, W, "r1", Money.of("8"), None)
    assert again.approved and not again.replayed and again.spend == Money.of(13)


def test_spent_reservations_cannot_be_released(ledger: Ledger) -> None:
    ledger.reserve(C, W, "r1", Money.of("3"), LIMIT)
    spent = ledger.mark_spent("r1")
    assert spent.state == "spent"
    assert ledger.mark_spent("r1").state == "spent"  # idempotent
    r = ledger.release("r1")
    assert r is not None and r.state == "spent"
    assert ledger.spend(C, W, "USD") == Money.of(3)
    with pytest.raises(BudgetError, match="no reservation"):
        ledger.mark_spent("missing")
    ledger.reserve(C, W, "r2", Money.of("1"), LIMIT)
    ledger.release("r2")
    with pytest.raises(BudgetError, match="released"):
        ledger.mark_spent("r2")


def test_windows_and_constraints_are_separate(ledger: Ledger) -> None:
    ledger.reserve(C, W, "a1", Money.of("9"), LIMIT)
    assert ledger.reserve(C, W2, "a2", Money.of("9"), LIMIT).approved
    assert ledger.reserve("b.stack", W, "b1", Money.of("9"), LIMIT).approved
    assert ledger.spend(C, W, "USD") == Money.of(9)
    assert ledger.spend(C, W2, "USD") == Money.of(9)
    assert {r.id for r in ledger.records(C)} == {"a1", "a2"}
    assert {r.id for r in ledger.records(window_start=W)} == {"a1", "b1"}
    assert len(ledger.records()) == 3


def test_no_limit_counts_anything(ledger: Ledger) -> None:
    assert ledger.reserve(C, W, "r1", Money.of("50"), None).approved
    assert ledger.spend(C, W, "USD") == Money.of(50)


def test_exact_decimals(ledger: Ledger) -> None:
    for i in range(10):
        assert ledger.reserve(C, W, f"r{i}", Money.of("0.1"), Money.of("1.0")).approved
    assert not ledger.reserve(C, W, "r10", Money.of("0.1"), Money.of("1.0")).approved
    assert ledger.spend(C, W, "USD").amount == Decimal("1.0")
    assert ledger.reserve(C, W, "tiny", Money.of("0.000001"), None).spend.amount == Decimal("1.000001")


def test_currency_of_a_window_is_fixed(ledger: Ledger) -> None:
    ledger.reserve(C, W, "usd", Money.of("1", "USD"), None)
    with pytest.raises(BudgetError, match="USD"):
        ledger.reserve(C, W, "eur", Money.of("1", "EUR"), None)
    with pytest.raises(BudgetError, match="different currencies"):
        ledger.reserve(C, W, "eur2", Money.of("1", "EUR"), Money.of("5", "USD"))


def test_alert_marker_is_set_once(ledger: Ledger) -> None:
    ledger.reserve(C, W, "r1", Money.of("9"), LIMIT)
    assert ledger.claim_alert(C, W, 0.8) is True
    assert ledger.claim_alert(C, W, "0.80") is False  # the same threshold, however it is written
    assert ledger.claim_alert(C, W, 1) is True  # another threshold
    assert ledger.claim_alert(C, W2, 0.8) is True  # another window
    ledger.unclaim_alert(C, W, 0.8)
    assert ledger.claim_alert(C, W, Decimal("0.8")) is True


def test_bad_ids_and_amounts(ledger: Ledger) -> None:
    with pytest.raises(BudgetError, match="reservation id"):
        ledger.reserve(C, W, "", Money.of(1), LIMIT)
    with pytest.raises(BudgetError, match="reservation id"):
        ledger.reserve(C, W, "has space", Money.of(1), LIMIT)
    with pytest.raises(BudgetError, match="constraint id"):
        ledger.reserve("a#b", W, "r", Money.of(1), LIMIT)
    with pytest.raises(BudgetError, match="negative"):
        ledger.reserve(C, W, "neg", Money.of(-1), LIMIT)
    assert ledger.records() == []


def test_record_json(ledger: Ledger) -> None:
    r = ledger.reserve(C, W, "r1", Money.of("2.5"), LIMIT)
    d = r.to_dict()
    assert d["approved"] and d["spend"] == "2.50" and d["limit"] == "10.00"
    assert d["reservation"]["window_start"] == "2026-11-22T00:00:00Z"
    assert d["reservation"]["amount"] == "2.50" and d["reservation"]["state"] == "reserved"
