"""Alerts against a local HTTP server on 127.0.0.1: delivery, retry, unreachable, once per window, secrecy."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from b00t_pulumi.budget import (
    Alert,
    BudgetController,
    Money,
    WebhookAlerter,
    alert_payload,
    expand_env,
    open_ledger,
    parse_time,
    redact_webhook,
)
from b00t_pulumi.budget.alerts import WebhookConfigError
from b00t_pulumi.datum.orchestration import BudgetConstraint

from .conftest import Webhook, free_port

NOW = parse_time("2026-11-22T20:00:00Z")
PAYLOAD = alert_payload("llm.stack", Money.of("82.50"), Money.of("100.00"), NOW)


def test_payload_shape() -> None:
    assert PAYLOAD == {
        "constraint_id": "llm.stack",
        "current_spend": 82.5,
        "daily_limit": 100.0,
        "currency": "USD",
        "percentage_used": 82.5,
        "timestamp": "2026-11-22T20:00:00Z",
    }


def test_expand_env() -> None:
    env = {"HOST": "n8n.local", "EMPTY": ""}
    assert expand_env("https://${HOST}/hook", env) == "https://n8n.local/hook"
    assert expand_env("https://${MISSING:-fallback.local}/h", env) == "https://fallback.local/h"
    assert expand_env("https://${EMPTY:-x}/h", env) == "https://x/h"
    assert expand_env("no variables", env) == "no variables"
    with pytest.raises(WebhookConfigError, match=r"\$\{MISSING\} is not set"):
        expand_env("${MISSING}", env)


def test_redact_webhook() -> None:
    assert redact_webhook("https://user:pw@n8n.example.com:5678/webhook/abc?token=x") == "https://n8n.example.com/…"
    assert redact_webhook("n8n.example.com/x") == "<URL without a scheme>"


def test_success(webhook: Webhook, no_sleep: Callable[[float], None], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="b00t_pulumi")
    alerter = WebhookAlerter(environ={"N8N_BUDGET_WEBHOOK_URL": webhook.url}, sleep=no_sleep)
    assert alerter.send("${N8N_BUDGET_WEBHOOK_URL}", PAYLOAD) is True
    assert webhook.requests == [PAYLOAD]
    assert webhook.paths == ["/webhook/budget-alert?token=s3cr3t"]
    assert "s3cr3t" not in caplog.text and "budget-alert" not in caplog.text
    assert "http://127.0.0.1/…" in caplog.text


def test_500_then_success_is_retried(webhook: Webhook, caplog: pytest.LogCaptureFixture) -> None:
    sleeps: list[float] = []
    webhook.statuses = [500, 503]
    alerter = WebhookAlerter(retries=2, backoff_s=0.25, sleep=sleeps.append)
    assert alerter.send(webhook.url, PAYLOAD) is True
    assert len(webhook.paths) == 3 and webhook.requests == [PAYLOAD]
    assert sleeps == [0.25, 0.5]


def test_gives_up_after_the_retries(webhook: Webhook, caplog: pytest.LogCaptureFixture,
                                    no_sleep: Callable[[float], None]) -> None:
    webhook.statuses = [500, 500, 500, 500]
    alerter = WebhookAlerter(retries=2, sleep=no_sleep)
    assert alerter.send(webhook.url, PAYLOAD) is False
    assert len(webhook.paths) == 3
    assert "not delivered to http://127.0.0.1/… after 3 attempt(s): HTTP 500" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_4xx_is_not_retried(webhook: Webhook, no_sleep: Callable[[float], None]) -> None:
    webhook.statuses = [404]
    assert WebhookAlerter(sleep=no_sleep).send(webhook.url, PAYLOAD) is False
    assert len(webhook.paths) == 1


def test_unreachable_warns_and_does_not_raise(caplog: pytest.LogCaptureFixture,
                                              no_sleep: Callable[[float], None]) -> None:
    url = f"http://127.0.0.1:{free_port()}/webhook/secret-path?token=s3cr3t"
    assert WebhookAlerter(timeout_s=1, retries=1, sleep=no_sleep).send(url, PAYLOAD) is False
    assert "WARNING" in caplog.text and "not delivered" in caplog.text
    assert "secret-path" not in caplog.text and "s3cr3t" not in caplog.text


def test_unset_variable_and_bad_urls(caplog: pytest.LogCaptureFixture) -> None:
    alerter = WebhookAlerter(environ={})
    assert alerter.send("${N8N_BUDGET_WEBHOOK_URL}", PAYLOAD) is False
    assert "${N8N_BUDGET_WEBHOOK_URL} is not set" in caplog.text
    assert alerter.send("ftp://host/x", PAYLOAD) is False
    assert alerter.send("not a url at all", PAYLOAD) is False
    assert "not a url" not in caplog.text


def test_once_per_window_through_the_controller(webhook: Webhook, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N8N_BUDGET_WEBHOOK_URL", webhook.url)
    c = BudgetConstraint.model_validate(
        {"daily_limit": "10", "alert_threshold": 0.5, "n8n_webhook": "${N8N_BUDGET_WEBHOOK_URL}"}
    )
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as lg:
        ctl = BudgetController(lg, alerter=WebhookAlerter(timeout_s=2), clock=lambda: NOW)
        kinds = [ctl.reserve("s.stack", c, Money.of(1), f"r{i}").kind for i in range(10)]
        assert kinds == ["approved"] * 4 + ["alert"] * 6
        assert len(webhook.requests) == 1
        assert webhook.requests[0]["current_spend"] == 5.0 and webhook.requests[0]["percentage_used"] == 50.0
        # a second controller (another process, say) does not alert again in this window
        ctl2 = BudgetController(lg, alerter=WebhookAlerter(timeout_s=2), clock=lambda: NOW)
        d = ctl2.reserve("s.stack", c, Money.of(0), "r-extra")
        assert isinstance(d, Alert) and d.alert_sent is False
        assert len(webhook.requests) == 1
        # the next window alerts again
        tomorrow = parse_time("2026-11-23T09:00:00Z")
        for i in range(5):
            ctl.reserve("s.stack", c, Money.of(1), f"t{i}", now=tomorrow)
        assert len(webhook.requests) == 2


def test_unreachable_alert_does_not_block_the_decision(tmp_path: Path) -> None:
    c = BudgetConstraint.model_validate(
        {"daily_limit": "10", "alert_threshold": 0.1, "n8n_webhook": f"http://127.0.0.1:{free_port()}/x"}
    )
    with open_ledger(f"sqlite:///{tmp_path}/l.db") as lg:
        ctl = BudgetController(lg, alerter=WebhookAlerter(timeout_s=1, retries=0), clock=lambda: NOW)
        d = ctl.reserve("s.stack", c, Money.of(5), "r")
        assert isinstance(d, Alert) and d.approved and d.alert_sent is False
        assert lg.spend("s.stack", d.window.start, "USD") == Money.of(5)
