"""Budget alerts off the reconcile path: a thread that claims, sends and retries.

``submit`` only puts a task on a queue (it never blocks a reconcile). The sender claims the ledger's
alert marker of (constraint, window, threshold) — the marker the Pulumi gates use too, so an alert is
sent once per window whoever notices first — reads the webhook URL from the Secret the planner made
(``spec.webhookSecretRef``), and POSTs with the budget package's ``WebhookAlerter`` (timeout, retries).
A failed send clears the marker and is tried again later with backoff; a dead webhook costs this
thread time, never a release.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from b00t_pulumi.budget.alerts import Alerter, WebhookAlerter, alert_payload
from b00t_pulumi.budget.ledger.base import Ledger
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import Window, iso_utc

if TYPE_CHECKING:
    from b00t_pulumi.operator.book import Budget

log = logging.getLogger("b00t_pulumi.operator.alerts")

#: (namespace, secret name, key) -> the webhook URL, or None when it cannot be read
SecretReader = Callable[[str, str, str], "str | None"]


@dataclass(frozen=True)
class AlertTask:
    constraint_id: str
    namespace: str
    window: Window
    threshold: Decimal
    spend: Money
    limit: Money
    secret: tuple[str, str]  # name, key
    attempt: int = 0

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.constraint_id, iso_utc(self.window.start), str(self.threshold))


class AlertSender:
    def __init__(self, ledger: Ledger, read_secret: SecretReader, *, alerter: Alerter | None = None,
                 retries: int = 5, backoff_s: float = 2.0, clock: Callable[[], float] = time.time) -> None:
        self.ledger = ledger
        self.read_secret = read_secret
        self.alerter: Alerter = alerter or WebhookAlerter(timeout_s=5.0, retries=1)
        self.retries = retries
        self.backoff_s = backoff_s
        self.clock = clock
        self._queue: queue.Queue[AlertTask | None] = queue.Queue()
        self._pending: dict[tuple[str, str, str], float] = {}  # key -> not before (in flight or backing off)
        self._done: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.sent: list[tuple[str, str, str]] = []

    def submit(self, budget: Budget, window: Window, threshold: Decimal, spend: Money) -> bool:
        """Queue an alert unless it is sent, in flight or waiting to be retried. Never blocks."""
        ref = budget.view.spec.get("webhookSecretRef") or {}
        if not ref.get("name") or not ref.get("key"):
            return False
        task = AlertTask(budget.id, budget.view.namespace, window, threshold, spend, budget.limit,
                         (str(ref["name"]), str(ref["key"])))
        with self._lock:
            not_before = self._pending.get(task.key)
            if task.key in self._done or (not_before is not None and not_before > self.clock()):
                return False
            self._pending[task.key] = float("inf")
        self._queue.put(task)
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="b00t-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self) -> None:
        """Send everything queued now, in this thread (tests and one-shot runs)."""
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task is not None:
                self._send(task)

    def _run(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            self._send(task)

    def _send(self, task: AlertTask) -> None:
        try:
            if not self.ledger.claim_alert(task.constraint_id, task.window.start, task.threshold):
                self._finish(task, sent=False)  # someone (a gate, an earlier run) sent it this window
                return
        except Exception as exc:
            log.warning("alert %s: cannot claim the marker: %s", task.key, exc)
            self._later(task)
            return
        ok = False
        try:
            url = self.read_secret(task.namespace, *task.secret)
            if url:
                ok = self.alerter.send(url, alert_payload(task.constraint_id, task.spend, task.limit,
                                                          datetime.fromtimestamp(self.clock(), UTC)))
            else:
                log.warning("alert %s: webhook Secret %s/%s has no key %s", task.key, task.namespace, *task.secret)
        except Exception as exc:  # never let the sender die
            log.warning("alert %s: %s", task.key, type(exc).__name__)
        if ok:
            self._finish(task, sent=True)
            return
        try:
            self.ledger.unclaim_alert(task.constraint_id, task.window.start, task.threshold)
        except Exception as exc:
            log.warning("alert %s: marker not cleared: %s", task.key, exc)
        self._later(task)

    def _finish(self, task: AlertTask, *, sent: bool) -> None:
        with self._lock:
            self._pending.pop(task.key, None)
            self._done.add(task.key)
            if sent:
                self.sent.append(task.key)

    def _later(self, task: AlertTask) -> None:
        if task.attempt + 1 >= self.retries:
            log.warning("alert %s: giving up after %d attempts", task.key, task.attempt + 1)
            with self._lock:
                self._pending[task.key] = self.clock() + self.backoff_s * 2**self.retries  # a later crossing retries
            return
        delay = self.backoff_s * 2**task.attempt
        with self._lock:
            self._pending[task.key] = float("inf")

        def again() -> None:
            self._queue.put(AlertTask(**{**task.__dict__, "attempt": task.attempt + 1}))

        timer = threading.Timer(delay, again)
        timer.daemon = True
        timer.start()
