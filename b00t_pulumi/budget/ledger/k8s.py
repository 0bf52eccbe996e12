"""Kubernetes ledger: spend kept in the ``status`` of BudgetConstraint custom resources (``b00t.io/v1``).

The custom resource named after the constraint id holds its own ledger in ``status`` (written
through the ``/status`` subresource, so Pulumi's updates of ``spec`` never touch it):

.. code-block:: yaml

    status:
      ledger: b00t-ledger/1            # schema of what follows
      observedGeneration: 3            # metadata.generation of the spec it was computed from
      conditions: [{type: WithinBudget, status: "True", reason: WithinLimit, ...}, ...]
      windowStart: "2026-11-22T13:00:00Z"   # newest window written (summary fields, for kubectl)
      windowEnd: "2026-11-23T13:00:00Z"     # when it resets (spec.resetSchedule in spec.timezone)
      lastReset: "2026-11-22T13:00:00Z"     # same as windowStart (the seed's name)
      currentSpend: "45.50"            # its spend (reserved + spent), exact decimal string
      reserved: "5.00"                 # the part still only reserved (releasable)
      remaining: "54.50"               # spec.dailyLimit - currentSpend
      jobsRun: 18                      # its counted reservations
      alertsSent: ["0.8"]              # thresholds alerted in it
      windows:                         # window start -> window; newest keep_windows (default 8)
        "2026-11-22T13:00:00Z": {currency: USD, spend: "45.50", alerts: ["0.8"]}
      reservations:                    # reservation id -> record; only those of the kept windows
        "llm-batch-job.job:run-1:2026-11-22T13:00:00Z":
          {window: "2026-11-22T13:00:00Z", amount: "2.50", state: reserved,   # reserved|spent|released
           createdAt: "2026-11-22T13:05:09Z", updatedAt: "2026-11-22T13:05:09Z"}

Every change reads the object, edits ``status`` and writes it back with the ``resourceVersion`` it
read: the API server refuses a write based on a stale read (409 Conflict), and the change is
re-read and retried. That is the atomic compare-and-swap the limit check needs.
One object must stay under etcd's 1.5 MiB: a few thousand reservations per window at most.
The schema and the summary fields are the BudgetConstraint API of ``b00t_pulumi.budget.api``.
"""

from __future__ import annotations

import copy
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from b00t_pulumi.budget._errors import budget_error
from b00t_pulumi.budget.api import GROUP, KIND, LEDGER_SCHEMA, PLURAL, STATUS_SCHEMA, VERSION, amount_str, summarize
from b00t_pulumi.budget.ledger.base import (
    Ledger,
    Reservation,
    ReserveResult,
    check_constraint_id,
    check_reservation_id,
    threshold_key,
)
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.window import iso_utc, parse_time
from b00t_pulumi.errors import BudgetError

__all__ = ["GROUP", "KIND", "PLURAL", "STATUS_SCHEMA", "VERSION", "K8sLedger", "kube_api"]

_MAX_TRIES = 50
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

T = TypeVar("T")


def _now() -> str:
    return iso_utc(datetime.now(UTC))


def kube_api(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """A ``CustomObjectsApi`` from a kubeconfig (``kubeconfig``, else $B00T_KUBECONFIG, else $KUBECONFIG,
    else ~/.kube/config), or the in-cluster service account when none exists. Never touches the
    kubernetes package's global configuration."""
    from kubernetes import client, config

    path = kubeconfig or os.environ.get("B00T_KUBECONFIG") or None
    try:
        if path is None and not os.environ.get("KUBECONFIG") and not os.path.exists(
            os.path.expanduser("~/.kube/config")
        ):
            cfg = client.Configuration()
            config.load_incluster_config(client_configuration=cfg)
            return client.CustomObjectsApi(client.ApiClient(cfg))
        api_client = config.new_client_from_config(config_file=path, context=context, persist_config=False)
    except config.ConfigException as exc:
        raise budget_error(f"cannot load the kubeconfig: {exc}") from None
    except OSError as exc:
        raise budget_error(f"cannot read the kubeconfig: {exc.strerror or exc}") from None
    return client.CustomObjectsApi(api_client)


class K8sLedger(Ledger):
    def __init__(
        self,
        namespace: str,
        *,
        api: Any = None,
        kubeconfig: str | None = None,
        context: str | None = None,
        display_url: str | None = None,
        keep_windows: int = 8,
        timeout_s: float = 10.0,
    ) -> None:
        self.namespace = namespace
        self.display_url = display_url or f"k8s://{namespace}"
        self.keep_windows = keep_windows
        self.timeout = timeout_s
        if not _DNS1123_SUBDOMAIN.match(namespace) or len(namespace) > 63:
            raise self._error(f"namespace {namespace!r} is not a Kubernetes namespace name")
        if api is None:
            try:
                api = kube_api(kubeconfig, context)
            except BudgetError as exc:
                raise self._error("; ".join(p.message for p in exc.problems)) from None
        self._api = api
        with self._guard("cannot reach the API server"):
            self._api.list_namespaced_custom_object(
                GROUP, VERSION, namespace, PLURAL, limit=1, _request_timeout=self.timeout
            )

    # -- plumbing ------------------------------------------------------------------------------
    @contextmanager
    def _guard(self, doing: str, name: str | None = None) -> Iterator[None]:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            yield
        except ApiException as exc:
            what = f"{KIND} {name!r} in namespace {self.namespace!r}" if name else f"namespace {self.namespace!r}"
            if exc.status == 404:
                hint = (
                    f"{what} not found: deploy the stack that defines it first"
                    if name
                    else f"no {KIND} custom resource definition ({PLURAL}.{GROUP}) on this cluster"
                )
                raise self._error(f"{doing}: {hint}") from None
            if exc.status in (401, 403):
                raise self._error(f"{doing}: not allowed to use {PLURAL}.{GROUP} ({exc.status} {exc.reason})") from None
            raise self._error(f"{doing}: {exc.status} {exc.reason}") from None
        except (HTTPError, OSError) as exc:
            raise self._error(f"{doing}: cannot reach the API server ({type(exc).__name__})") from None

    def _name(self, constraint_id: str) -> str:
        check_constraint_id(constraint_id)
        if not _DNS1123_SUBDOMAIN.match(constraint_id):
            raise self._error(
                f"constraint id {constraint_id!r} is not a Kubernetes object name "
                "(lower-case letters, digits, '-', '.')"
            )
        return constraint_id

    def _get_obj(self, name: str) -> dict[str, Any]:
        obj: dict[str, Any] = self._api.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=self.timeout
        )
        return obj

    def _status(self, obj: dict[str, Any]) -> dict[str, Any]:
        status = copy.deepcopy(obj.get("status") or {})
        found = status.get("ledger")
        if found not in (None, LEDGER_SCHEMA):
            raise self._error(f"unsupported ledger schema {found!r} in {obj['metadata']['name']} status")
        for key in ("windows", "reservations"):
            value = status.setdefault(key, {})
            if not isinstance(value, dict):
                raise self._error(f"status.{key} of {obj['metadata']['name']} is not a map: not written by this ledger")
        return status

    def _update(self, name: str, change: Callable[[dict[str, Any]], tuple[T, bool]]) -> T:
        """Read, change status, write back with the read resourceVersion; retry on 409 Conflict."""
        from kubernetes.client.exceptions import ApiException

        for attempt in range(_MAX_TRIES):
            obj = self._get_obj(name)
            status = self._status(obj)
            result, changed = change(status)
            if not changed:
                return result
            self._summarize(obj, status)
            body = dict(obj)
            body["status"] = status
            try:
                self._api.replace_namespaced_custom_object_status(
                    GROUP, VERSION, self.namespace, PLURAL, name, body, _request_timeout=self.timeout
                )
            except ApiException as exc:
                if exc.status == 409:
                    time.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))
                    continue
                raise
            return result
        raise self._error(f"{name}: gave up after {_MAX_TRIES} conflicting writes")

    def _summarize(self, obj: dict[str, Any], status: dict[str, Any]) -> None:
        summarize(obj, status, datetime.now(UTC), self.keep_windows)

    @staticmethod
    def _window(status: dict[str, Any], wkey: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = status["windows"].get(wkey)
        return found

    @staticmethod
    def _entry(status: dict[str, Any], rid: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = status["reservations"].get(rid)
        return found

    def _record(self, name: str, status: dict[str, Any], rid: str, r: dict[str, Any]) -> Reservation:
        w = self._window(status, r["window"])
        currency = str(w.get("currency") or "USD") if w else "USD"
        return Reservation(
            id=rid,
            constraint_id=name,
            window_start=parse_time(str(r["window"])),
            amount=Money.of(str(r["amount"]), currency),
            state=r["state"],
            created_at=parse_time(str(r["createdAt"])),
            updated_at=parse_time(str(r["updatedAt"])),
        )

    def _spend_of(self, status: dict[str, Any], name: str, wkey: str, currency: str) -> Money:
        w = self._window(status, wkey)
        if w is None or not w.get("currency"):
            return Money.zero(currency)
        if w["currency"] != currency:
            raise self._error(f"{name} window {wkey} is kept in {w['currency']}, not {currency}")
        return Money.of(str(w["spend"]), currency)

    def _find(self, rid: str) -> tuple[str, Reservation] | None:
        """The constraint holding a reservation id (ids are looked up across the namespace)."""
        objs = self._api.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, _request_timeout=self.timeout
        )
        for obj in objs.get("items", []):
            reservations = (obj.get("status") or {}).get("reservations")
            if isinstance(reservations, dict) and rid in reservations:
                name = obj["metadata"]["name"]
                return name, self._record(name, self._status(obj), rid, reservations[rid])
        return None

    # -- Ledger --------------------------------------------------------------------------------
    def reserve(
        self,
        constraint_id: str,
        window_start: datetime,
        reservation_id: str,
        amount: Money,
        limit: Money | None,
    ) -> ReserveResult:
        wkey = self._check_reserve(constraint_id, window_start, reservation_id, amount, limit)
        name = self._name(constraint_id)

        def change(status: dict[str, Any]) -> tuple[ReserveResult, bool]:
            spend = self._spend_of(status, name, wkey, amount.currency)
            entry = self._entry(status, reservation_id)
            existing: Reservation | None = None
            if entry is not None:
                existing = self._record(name, status, reservation_id, entry)
                self._conflict(existing, constraint_id, wkey, amount)
                if existing.counted and existing.amount == amount:
                    return ReserveResult(True, True, spend, limit, existing), False
            held = self._held(existing, amount)  # a re-price counts only the difference
            if limit is not None and spend - held + amount > limit:
                return ReserveResult(False, False, spend, limit, None), False
            new_spend = spend - held + amount
            w = self._window(status, wkey)
            if w is None:
                w = {"currency": amount.currency, "spend": "0.00", "alerts": []}
                status["windows"][wkey] = w
            w["currency"] = amount.currency  # unset only in a window that so far has just alert markers
            w["spend"] = amount_str(new_spend.amount)
            now = _now()
            if entry is None:
                entry = {
                    "window": wkey,
                    "amount": amount_str(amount.amount),
                    "state": "reserved",
                    "createdAt": now,
                    "updatedAt": now,
                }
                status["reservations"][reservation_id] = entry
            else:
                entry["state"] = "reserved"
                entry["amount"] = amount_str(amount.amount)
                entry["updatedAt"] = now
            return ReserveResult(True, False, new_spend, limit, self._record(name, status, reservation_id, entry)), True

        with self._guard("reserve", name):
            return self._update(name, change)

    def _change_state(self, reservation_id: str, doing: str, to: str) -> Reservation | None:
        check_reservation_id(reservation_id)
        with self._guard(doing):
            found = self._find(reservation_id)
        if found is None:
            return None
        name = found[0]

        def change(status: dict[str, Any]) -> tuple[Reservation | None, bool]:
            entry = self._entry(status, reservation_id)
            if entry is None:
                return None, False
            if entry["state"] != "reserved":
                return self._record(name, status, reservation_id, entry), False
            entry["state"] = to
            entry["updatedAt"] = _now()
            if to == "released":
                w = self._window(status, entry["window"])
                if w is not None:
                    w["spend"] = amount_str(Decimal(str(w["spend"])) - Decimal(str(entry["amount"])))
            return self._record(name, status, reservation_id, entry), True

        with self._guard(doing, name):
            return self._update(name, change)

    def release(self, reservation_id: str) -> Reservation | None:
        return self._change_state(reservation_id, "release", "released")

    def mark_spent(self, reservation_id: str) -> Reservation:
        r = self._change_state(reservation_id, "mark spent", "spent")
        if r is None:
            raise self._error(f"no reservation {reservation_id!r}")
        if r.state == "released":
            raise self._error(f"reservation {reservation_id!r} was released: reserve it again before spending it")
        return r

    def spend(self, constraint_id: str, window_start: datetime, currency: str) -> Money:
        name = self._name(constraint_id)
        with self._guard("read spend", name):
            status = self._status(self._get_obj(name))
        return self._spend_of(status, name, iso_utc(window_start), currency)

    def records(self, constraint_id: str | None = None, window_start: datetime | None = None) -> list[Reservation]:
        out: list[Reservation] = []
        with self._guard("list records", constraint_id):
            if constraint_id is not None:
                objs = [self._get_obj(self._name(constraint_id))]
            else:
                objs = self._api.list_namespaced_custom_object(
                    GROUP, VERSION, self.namespace, PLURAL, _request_timeout=self.timeout
                ).get("items", [])
        wkey = iso_utc(window_start) if window_start is not None else None
        for obj in objs:
            name = obj["metadata"]["name"]
            status = self._status(obj)
            out.extend(
                self._record(name, status, rid, r)
                for rid, r in status["reservations"].items()
                if wkey is None or r["window"] == wkey
            )
        out.sort(key=lambda r: (r.created_at, r.id))
        return out

    def get(self, reservation_id: str) -> Reservation | None:
        with self._guard("read a reservation"):
            found = self._find(reservation_id)
        return found[1] if found else None

    def _alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str, set_: bool) -> bool:
        name = self._name(constraint_id)
        wkey = iso_utc(window_start)
        tkey = threshold_key(threshold)

        def change(status: dict[str, Any]) -> tuple[bool, bool]:
            w = self._window(status, wkey)
            if set_:
                if w is None:
                    # No spend yet in this window; the currency is filled in by the first reservation.
                    w = {"spend": "0.00", "alerts": []}
                    status["windows"][wkey] = w
                alerts = w.setdefault("alerts", [])
                if tkey in alerts:
                    return False, False
                alerts.append(tkey)
                return True, True
            if w is None or tkey not in w.get("alerts", []):
                return False, False
            w["alerts"] = [a for a in w["alerts"] if a != tkey]
            return True, True

        with self._guard("alert marker", name):
            return self._update(name, change)

    def claim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> bool:
        return self._alert(constraint_id, window_start, threshold, True)

    def unclaim_alert(self, constraint_id: str, window_start: datetime, threshold: Decimal | float | str) -> None:
        self._alert(constraint_id, window_start, threshold, False)
