"""BudgetController decisions: approved, alert, deferred (next window), rejected; projections for gates."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.budget import (
    Alert,
    Approved,
    BudgetController,
    CostItem,
    Deferred,
    Ledger,
    Money,
    Rejected,
    open_ledger,
    parse_time,
)
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import BudgetError

NOW = parse_time("2026-11-22T20:00:00Z")
CID = "llm-inference-pipeline.stack"


class RecordingAlerter:
    def __init__(self, ok: bool = True) -> None:
        self.ok = ok
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, webhook: str, payload: Mapping[str, Any]) -> bool:
        self.sent.append((webhook, dict(payload)))
        return self.ok


def bc(**kw: Any) -> BudgetConstraint:
    return BudgetConstraint.model_validate({"daily_limit": "100.00", "cost_per_job": "2.50", **kw})


@pytest.fixture
def sqlite_ledger(tmp_path: Path) -> Iterator[Ledger]:
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as lg:
        yield lg


@pytest.fixture
def alerter() -> RecordingAlerter:
    return RecordingAlerter()


@pytest.fixture
def ctl(sqlite_ledger: Ledger, alerter: RecordingAlerter) -> BudgetController:
    return BudgetController(sqlite_ledger, alerter=alerter, clock=lambda: NOW)


def fill(ctl: BudgetController, c: BudgetConstraint, n: int, cost: str = "2.50", prefix: str = "j") -> None:
    for i in range(n):
        assert ctl.reserve(CID, c, Money.of(cost), f"{prefix}{i}").approved


def test_under_the_limit(ctl: BudgetController) -> None:
    d = ctl.reserve(CID, bc(), Money.of("2.50"), "job-1")
    assert isinstance(d, Approved)
    assert d.remaining == Money.of("97.50") and d.spend == Money.of("2.50")
    assert d.exit_code == 0
    j = d.to_dict()
    assert j["decision"] == "approved" and j["remaining"] == "97.50" and j["window"]["end"] == "2026-11-23T00:00:00Z"


def test_at_the_limit(ctl: BudgetController) -> None:
    c = bc()
    fill(ctl, c, 39)
    d = ctl.reserve(CID, c, Money.of("2.50"), "last")
    assert d.approved and d.remaining == Money.of(0)


def test_over_the_limit_defers_to_the_next_window(ctl: BudgetController) -> None:
    c = bc()
    fill(ctl, c, 40)
    d = ctl.reserve(CID, c, Money.of("2.50"), "one-too-many")
    assert isinstance(d, Deferred)
    assert d.next_window_start == parse_time("2026-11-23T00:00:00Z")
    assert d.spend == Money.of(100) and d.limit == Money.of(100)
    assert "102.50 USD of the 100.00 USD limit" in d.reason and "deferred until 2026-11-23T00:00:00Z" in d.reason
    assert d.exit_code == 3
    assert d.to_dict()["next_window_start"] == "2026-11-23T00:00:00Z"
    # the next window starts empty
    later = ctl.reserve(CID, c, Money.of("2.50"), "one-too-many", now=parse_time("2026-11-23T00:00:01Z"))
    assert later.approved and later.spend == Money.of("2.50")


def test_defer_in_sydney(ctl: BudgetController) -> None:
    c = bc(daily_limit="5", timezone="Australia/Sydney")
    fill(ctl, c, 2)
    d = ctl.reserve(CID, c, Money.of("2.50"), "x")
    assert isinstance(d, Deferred)
    # 2026-11-22T20:00Z is 07:00 on the 23rd in Sydney (UTC+11): next local midnight is 13:00Z on the 23rd
    assert d.next_window_start == parse_time("2026-11-23T13:00:00Z")
    assert d.window.start == parse_time("2026-11-22T13:00:00Z")


def test_fail_policy_rejects(ctl: BudgetController) -> None:
    c = bc(daily_limit="5", on_budget_exceeded="fail")
    fill(ctl, c, 2)
    d = ctl.reserve(CID, c, Money.of("2.50"), "x")
    assert isinstance(d, Rejected) and not d.approved
    assert "on_budget_exceeded = fail" in d.reason
    assert d.to_dict()["decision"] == "rejected"


def test_alert_threshold(ctl: BudgetController, alerter: RecordingAlerter) -> None:
    c = bc(alert_threshold=0.8, n8n_webhook="${HOOK}")
    fill(ctl, c, 31)  # 77.50
    d = ctl.reserve(CID, c, Money.of("2.50"), "j31")  # 80.00: at the threshold
    assert isinstance(d, Alert)
    assert d.threshold == Decimal("0.8") and not d.over_limit and d.alert_sent is True
    assert d.remaining == Money.of(20)
    assert len(alerter.sent) == 1
    hook, payload = alerter.sent[0]
    assert hook == "${HOOK}"  # expanded by the alerter at send time
    assert payload["constraint_id"] == CID and payload["current_spend"] == 80.0
    assert payload["daily_limit"] == 100.0 and payload["percentage_used"] == 80.0 and payload["currency"] == "USD"
    # still past the threshold: Alert decisions, but the alert is not sent again in this window
    d2 = ctl.reserve(CID, c, Money.of("2.50"), "j32")
    assert isinstance(d2, Alert) and d2.alert_sent is False
    assert len(alerter.sent) == 1
    # next window: a new crossing alerts again
    tomorrow = parse_time("2026-11-23T12:00:00Z")
    for i in range(32):
        ctl.reserve(CID, c, Money.of("2.50"), f"t{i}", now=tomorrow)
    assert len(alerter.sent) == 2


def test_failed_alert_is_retried_on_the_next_crossing(sqlite_ledger: Ledger) -> None:
    failing = RecordingAlerter(ok=False)
    ctl = BudgetController(sqlite_ledger, alerter=failing, clock=lambda: NOW)
    c = bc(alert_threshold=0.5, n8n_webhook="http://127.0.0.1:1/x")
    fill(ctl, c, 19)
    d = ctl.reserve(CID, c, Money.of("2.50"), "j19")
    assert isinstance(d, Alert) and d.alert_sent is False  # approved all the same
    failing.ok = True
    d = ctl.reserve(CID, c, Money.of("2.50"), "j20")
    assert isinstance(d, Alert) and d.alert_sent is True
    assert len(failing.sent) == 2


def test_alerter_exceptions_never_block(sqlite_ledger: Ledger) -> None:
    class Boom:
        def send(self, webhook: str, payload: Mapping[str, Any]) -> bool:
            raise RuntimeError("boom")

    ctl = BudgetController(sqlite_ledger, alerter=Boom(), clock=lambda: NOW)
    d = ctl.reserve(CID, bc(alert_threshold=0.01, n8n_webhook="x"), Money.of("2.50"), "j")
    assert isinstance(d, Alert) and d.alert_sent is False


def test_alert_policy_goes_over_the_limit(ctl: BudgetController, alerter: RecordingAlerter) -> None:
    c = bc(daily_limit="5", on_budget_exceeded="alert", n8n_webhook="http://hook")
    fill(ctl, c, 2)
    d = ctl.reserve(CID, c, Money.of("2.50"), "over")
    assert isinstance(d, Alert) and d.approved and d.over_limit and d.threshold == 1
    assert d.remaining == Money.of("-2.50")
    assert d.alert_sent is True and alerter.sent[0][1]["percentage_used"] == 150.0


def test_no_webhook_means_no_alert_attempt(ctl: BudgetController, alerter: RecordingAlerter) -> None:
    d = ctl.reserve(CID, bc(alert_threshold=0.01), Money.of("2.50"), "j")
    assert isinstance(d, Alert) and d.alert_sent is None and alerter.sent == []


def test_idempotent_reserve_through_the_controller(ctl: BudgetController) -> None:
    c = bc()
    first = ctl.reserve(CID, c, Money.of("2.50"), "same")
    again = ctl.reserve(CID, c, Money.of("2.50"), "same")
    assert isinstance(again, Approved) and again.replayed and again.spend == first.spend


def test_release_frees_the_budget(ctl: BudgetController) -> None:
    c = bc(daily_limit="5")
    fill(ctl, c, 2)
    assert not ctl.reserve(CID, c, Money.of("2.50"), "x").approved
    released = ctl.release("j0")
    assert released is not None and released.state == "released"
    assert ctl.reserve(CID, c, Money.of("2.50"), "x").approved
    ctl.mark_spent("x")
    assert ctl.status(CID, c).spend == Money.of(5)


def test_check_writes_nothing(ctl: BudgetController, alerter: RecordingAlerter) -> None:
    c = bc(daily_limit="5", alert_threshold=0.1, n8n_webhook="x")
    assert isinstance(ctl.check(CID, c, Money.of("2.50")), Alert)
    assert ctl.status(CID, c).spend == Money.of(0) and alerter.sent == []
    assert isinstance(ctl.check(CID, c, Money.of("5.01")), Deferred)


def test_currency_mismatch(ctl: BudgetController) -> None:
    with pytest.raises(BudgetError, match="does not convert"):
        ctl.reserve(CID, bc(currency="EUR"), Money.of("2.50", "USD"), "x")
    # budget_currency from the orchestration table, passed as currency=
    d = ctl.reserve(CID, bc(), Money.of("2.50", "AUD"), "y", currency="AUD")
    assert d.limit == Money.of(100, "AUD")


def test_status(ctl: BudgetController) -> None:
    c = bc(alert_threshold=0.8)
    fill(ctl, c, 4)
    ctl.release("j3")
    st = ctl.status(CID, c)
    assert st.spend == Money.of("7.50") and st.counted == 3 and st.remaining == Money.of("92.50")
    assert st.to_dict()["percentage_used"] == "7.50" and len(st.records) == 4


# -- projections for gates ------------------------------------------------------------------------


def jobs(n: int, cost: str = "2.50", prefix: str = "job") -> list[CostItem]:
    return [CostItem(f"{prefix}-{i}", Money.of(cost), name=f"{prefix}-{i}") for i in range(n)]


def test_projection_message_like_the_gate_needs(ctl: BudgetController) -> None:
    c = bc(on_budget_exceeded="fail")
    fill(ctl, c, 20, prefix="earlier")  # 50.00 already in the ledger
    p = ctl.project(CID, c, jobs(25))  # +62.50 = 112.50
    assert p.projected == Money.of("112.50") and p.exceeds and p.outcome == "rejected"
    assert len(p.fits) == 20 and len(p.over) == 5
    assert p.message("stack llm-inference-pipeline") == (
        "stack llm-inference-pipeline: projected 112.50 USD of 100.00 USD daily limit (5 jobs x 2.50 over); "
        "window resets 2026-11-23T00:00:00Z"
    )


def test_projection_does_not_count_its_own_reservations_twice(ctl: BudgetController) -> None:
    c = bc()
    items = jobs(30)
    decisions = ctl.reserve_all(CID, c, items)
    assert all(d.approved for d in decisions)
    p = ctl.project(CID, c, items)  # a re-run of the same update
    assert p.ledger_spend == Money.of(75) and p.already_counted == Money.of(75)
    assert p.projected == Money.of(75) and not p.exceeds and p.over == ()
    # the update drops 10 jobs and adds 15 new ones; the dropped ids are excluded (to be released)
    new = items[:20] + jobs(15, prefix="new")
    p2 = ctl.project(CID, c, new, exclude=[i.id for i in items[20:]])
    assert p2.projected == Money.of("87.50") and not p2.exceeds


def test_projection_defer_lists_in_order(ctl: BudgetController) -> None:
    c = bc(daily_limit="10")
    items = [
        CostItem("a", Money.of(4)),
        CostItem("b", Money.of(5)),
        CostItem("c", Money.of(3)),  # does not fit (12 > 10) ...
        CostItem("d", Money.of(1)),  # ... and nothing after it jumps the queue
    ]
    p = ctl.project(CID, c, items)
    assert [i.id for i in p.fits] == ["a", "b"] and [i.id for i in p.over] == ["c", "d"]
    assert p.outcome == "deferred" and p.over_by == Money.of(3)
    assert "(2 jobs and" not in p.message("s") and "over" in p.over_text()
    decisions = ctl.reserve_all(CID, c, items)
    assert [d.kind for d in decisions] == ["approved", "approved", "deferred", "deferred"]
    assert ctl.status(CID, c).spend == Money.of(9)


def test_projection_mixed_kinds_and_alert_policy(ctl: BudgetController) -> None:
    c = bc(daily_limit="10", on_budget_exceeded="alert", alert_threshold=0.5)
    items = [CostItem("svc", Money.of(8), kind="deployment"), CostItem("j", Money.of(3))]
    p = ctl.project(CID, c, items)
    assert p.outcome == "alert" and p.exceeds and len(p.fits) == 2 and p.over == ()
    c2 = bc(daily_limit="10")
    p2 = ctl.project(CID, c2, [CostItem("svc", Money.of(8), kind="deployment"), CostItem("j", Money.of(3)),
                               CostItem("k", Money.of(2), kind="deployment")])
    assert p2.over_text() == "1 deployment and 1 job over, 3.00 past the limit"
    assert p2.to_dict()["over"][0]["id"] == "j"
    with pytest.raises(BudgetError, match="duplicate"):
        ctl.project(CID, c2, [CostItem("x", Money.of(1)), CostItem("x", Money.of(1))])


def test_under_threshold_projection_is_approved(ctl: BudgetController) -> None:
    p = ctl.project(CID, bc(alert_threshold=0.9), jobs(4))
    assert p.outcome == "approved" and p.message("stack s").startswith("stack s: projected 10.00 USD of 100.00 USD")


def test_clock_is_used_when_now_is_not_given(sqlite_ledger: Ledger) -> None:
    t = {"now": parse_time("2026-01-01T10:00:00Z")}
    ctl = BudgetController(sqlite_ledger, alerter=RecordingAlerter(), clock=lambda: t["now"])
    c = bc(daily_limit="2.50")
    assert ctl.reserve(CID, c, Money.of("2.50"), "a").approved
    assert not ctl.reserve(CID, c, Money.of("2.50"), "b").approved
    t["now"] = datetime.fromisoformat("2026-01-02T00:00:00+00:00")
    assert ctl.reserve(CID, c, Money.of("2.50"), "b").approved
