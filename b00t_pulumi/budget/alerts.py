"""Budget alerts: POST JSON to the constraint's ``n8n_webhook``, with a timeout and retries.

The webhook URL is a secret (it usually carries a token): it is expanded from ``${ENV}`` /
``${ENV:-default}`` at send time, and only ``redact_webhook`` (``https://host/…``) ever reaches a log
or a message. A failed alert logs a warning and returns False; it never raises and never blocks a
decision. Once-per-window is the controller's job (a ledger marker), not this module's.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Protocol
from urllib.parse import urlsplit

from b00t_pulumi.budget.money import CENT, Money
from b00t_pulumi.budget.window import iso_utc

log = logging.getLogger("b00t_pulumi.budget.alerts")

class WebhookConfigError(ValueError):
    """The webhook template cannot be expanded (the message names the variable, never its value)."""


def expand_env(template: str, environ: Mapping[str, str] | None = None) -> str:
    """The webhook URL from its template (b00t_pulumi.expand, the planner's expander too). A variable
    that is unset and has no default is an error naming it."""
    from b00t_pulumi.expand import expand

    out = expand(template, os.environ if environ is None else environ)
    if out.missing:
        raise WebhookConfigError(f"${{{out.missing[0]}}} is not set")
    return out.value


def redact_webhook(url: str) -> str:
    """``https://host/…``: scheme and host only (no user, password, port secrets, path or query)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.hostname or "?"
    if not parts.scheme:
        return "<URL without a scheme>"
    return f"{parts.scheme}://{host}/…"


def _number(d: Decimal) -> float:
    return float(d.quantize(CENT, rounding=ROUND_HALF_EVEN))


def alert_payload(constraint_id: str, spend: Money, limit: Money, when: datetime) -> dict[str, Any]:
    """The JSON body: constraint_id, current_spend, daily_limit, currency, percentage_used, timestamp."""
    pct = (spend.amount / limit.amount * 100) if limit.amount else Decimal(0)
    return {
        "constraint_id": constraint_id,
        "current_spend": _number(spend.amount),
        "daily_limit": _number(limit.amount),
        "currency": limit.currency,
        "percentage_used": _number(pct),
        "timestamp": iso_utc(when),
    }


class Alerter(Protocol):
    def send(self, webhook: str, payload: Mapping[str, Any]) -> bool:
        """POST ``payload`` to ``webhook`` (a template); True when delivered. Never raises."""
        ...


@dataclass
class WebhookAlerter:
    """urllib POST with ``timeout_s`` per attempt and ``retries`` more attempts on 5xx, 429 and network errors."""

    timeout_s: float = 5.0
    retries: int = 2
    backoff_s: float = 0.5
    environ: Mapping[str, str] | None = None
    sleep: Callable[[float], None] = time.sleep

    def send(self, webhook: str, payload: Mapping[str, Any]) -> bool:
        cid = payload.get("constraint_id", "?")
        try:
            url = expand_env(webhook, self.environ)
        except WebhookConfigError as exc:
            log.warning("budget alert for %s not sent: webhook %s", cid, exc)
            return False
        shown = redact_webhook(url)
        if urlsplit(url).scheme not in ("http", "https"):
            log.warning("budget alert for %s not sent: webhook %s is not an http(s) URL", cid, shown)
            return False
        body = json.dumps(dict(payload)).encode("utf-8")
        attempts = 1 + max(0, self.retries)
        problem = "no attempt"
        for attempt in range(attempts):
            if attempt:
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            req = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "b00t-pulumi-budget"},
            )
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    resp.read(1024)
                log.info("budget alert for %s sent to %s", cid, shown)
                return True
            except urllib.error.HTTPError as exc:
                problem = f"HTTP {exc.code}"
                exc.close()
                if exc.code < 500 and exc.code != 429:
                    break  # the webhook refuses this request: retrying will not help
            except urllib.error.URLError as exc:
                reason = exc.reason
                problem = type(reason).__name__ if isinstance(reason, BaseException) else "network error"
            except TimeoutError:
                problem = f"no answer within {self.timeout_s:g}s"
            except (OSError, ValueError) as exc:  # ValueError: a malformed URL (its text is the secret)
                problem = type(exc).__name__
        log.warning(
            "budget alert for %s not delivered to %s after %d attempt(s): %s",
            cid, shown, attempt + 1, problem,
        )
        return False


def alert_time() -> datetime:
    return datetime.now(UTC)
