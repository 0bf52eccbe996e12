"""The BudgetConstraint API (``b00t.io/v1``): spec, status, printer columns, in one place.

The planner's CRD (``crd()``), its custom resources (``custom_resource()``), the ``k8s://`` ledger
(which writes ``status`` through ``summarize``) and the tests all use this module, so the API
the cluster serves and what the code writes cannot drift apart. Pure: no Kubernetes client.

``status`` follows the Kubernetes API conventions: ``observedGeneration`` (the ``metadata.generation``
of the spec it describes) and ``conditions`` (``metav1.Condition``: type, status, reason, message,
lastTransitionTime, observedGeneration; a list-map keyed by type). Amounts are exact decimal strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from b00t_pulumi.budget.window import Window, current_window, iso_utc, parse_time
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import B00tError

GROUP = "b00t.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "BudgetConstraint"
PLURAL = "budgetconstraints"
LEDGER_SCHEMA = "b00t-ledger/1"
MANAGED_BY = "b00t-pulumi"

# Condition types (positive polarity for WithinBudget; the other two say when something happened).
WITHIN_BUDGET = "WithinBudget"
ALERT_THRESHOLD_REACHED = "AlertThresholdReached"
EXCEEDED = "Exceeded"
CONDITION_TYPES = (WITHIN_BUDGET, ALERT_THRESHOLD_REACHED, EXCEEDED)

_STR: dict[str, Any] = {"type": "string"}
_MONEY: dict[str, Any] = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
_AMOUNT: dict[str, Any] = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}  # may go negative (alert)
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}

SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["dailyLimit", "currency", "onBudgetExceeded"],
    "properties": {
        "target": {
            "type": "object",
            "description": "the b00t stack or job this budget covers",
            "required": ["kind", "name"],
            "properties": {"kind": {"type": "string", "enum": ["Stack", "Job"]}, "name": _STR},
        },
        "dailyLimit": {**_MONEY, "description": 'limit per window, e.g. "100.00"'},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code of every amount"},
        "costPerJob": {**_MONEY, "description": "estimated cost of one job run"},
        "alertThreshold": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
        "webhookSecretRef": {
            "type": "object",
            "description": "Secret key holding the alert webhook URL (a secret, never in the spec)",
            "required": ["name", "key"],
            "properties": {"name": _STR, "key": _STR},
        },
        "onBudgetExceeded": {"type": "string", "enum": ["defer", "alert", "fail"]},
        "resetSchedule": {"type": "string", "description": "cron expression of window starts"},
        "timezone": {"type": "string", "description": "IANA time zone of resetSchedule"},
    },
}

CONDITION_SCHEMA: dict[str, Any] = {  # metav1.Condition
    "type": "object",
    "required": ["type", "status", "lastTransitionTime", "reason", "message"],
    "properties": {
        "type": {"type": "string", "maxLength": 316,
                 "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"},
        "status": {"type": "string", "enum": ["True", "False", "Unknown"]},
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0},
        "lastTransitionTime": _TIME,
        "reason": {"type": "string", "minLength": 1, "maxLength": 1024,
                   "pattern": r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"},
        "message": {"type": "string", "maxLength": 32768},
    },
}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "written by the b00t-pulumi ledger (k8s:// backend); amounts are exact decimal strings",
    "properties": {
        "ledger": {"type": "string", "description": f"ledger schema, {LEDGER_SCHEMA}"},
        "observedGeneration": {"type": "integer", "format": "int64", "minimum": 0,
                               "description": "metadata.generation of the spec this status was computed from"},
        "conditions": {"type": "array", "items": CONDITION_SCHEMA, "x-kubernetes-list-type": "map",
                       "x-kubernetes-list-map-keys": ["type"]},
        "windowStart": {**_TIME, "description": "start of the newest window written"},
        "windowEnd": {**_TIME, "description": "when that window resets"},
        "lastReset": {**_TIME, "description": "same as windowStart (the seed's name)"},
        "currentSpend": {**_AMOUNT, "description": "spend (reserved + spent) of windowStart"},
        "reserved": {**_AMOUNT, "description": "the part of currentSpend that is reserved, not spent"},
        "remaining": {**_AMOUNT, "description": "spec.dailyLimit - currentSpend (negative past the limit)"},
        "jobsRun": {"type": "integer", "minimum": 0, "description": "counted reservations of windowStart"},
        "alertsSent": {"type": "array", "items": _STR, "description": "thresholds alerted in windowStart"},
        "windows": {
            "type": "object",
            "description": "window start -> spend",
            "additionalProperties": {
                "type": "object",
                "required": ["spend"],
                "properties": {"currency": _STR, "spend": _AMOUNT, "alerts": {"type": "array", "items": _STR}},
            },
        },
        "reservations": {
            "type": "object",
            "description": "reservation id -> record",
            "additionalProperties": {
                "type": "object",
                "required": ["window", "amount", "state", "createdAt", "updatedAt"],
                "properties": {
                    "window": _TIME,
                    "amount": _AMOUNT,
                    "state": {"type": "string", "enum": ["reserved", "spent", "released"]},
                    "createdAt": _TIME,
                    "updatedAt": _TIME,
                },
            },
        },
    },
}

PRINTER_COLUMNS: list[dict[str, Any]] = [
    {"name": "Window", "type": "string", "jsonPath": ".status.windowStart", "description": "current window start"},
    {"name": "Spend", "type": "string", "jsonPath": ".status.currentSpend"},
    {"name": "Limit", "type": "string", "jsonPath": ".spec.dailyLimit"},
    {"name": "Remaining", "type": "string", "jsonPath": ".status.remaining"},
    {"name": "Currency", "type": "string", "jsonPath": ".spec.currency"},
    {"name": "On-Exceeded", "type": "string", "jsonPath": ".spec.onBudgetExceeded"},
    {"name": "Within", "type": "string", "jsonPath": f'.status.conditions[?(@.type=="{WITHIN_BUDGET}")].status'},
    {"name": "Resets", "type": "string", "jsonPath": ".status.windowEnd", "priority": 1},
    {"name": "Reserved", "type": "string", "jsonPath": ".status.reserved", "priority": 1},
    {"name": "Jobs", "type": "integer", "jsonPath": ".status.jobsRun", "priority": 1},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
]


def crd() -> dict[str, Any]:
    """The CustomResourceDefinition ``budgetconstraints.b00t.io`` (status subresource on)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}", "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
        "spec": {
            "group": GROUP,
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL, "singular": KIND.lower(),
                      "shortNames": ["bc", "budget"], "categories": ["b00t"]},
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [dict(c) for c in PRINTER_COLUMNS],
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "description": "A money limit per window for the jobs and deployments of a b00t stack or job",
                    "properties": {"apiVersion": _STR, "kind": _STR, "metadata": {"type": "object"},
                                   "spec": SPEC_SCHEMA, "status": STATUS_SCHEMA},
                    "required": ["spec"],
                }},
            }],
        },
    }


def spec_window(spec: Mapping[str, Any], now: datetime) -> Window:
    """The budget window holding ``now`` of a BudgetConstraint spec as the cluster has it: its
    ``resetSchedule`` in its ``timezone``, or the model's defaults where the spec has none. The
    one reader of a spec's window: the policy pack, the ``k8s://`` ledger's status and the gates
    count spend in the same window. Raises B00tError for a schedule or zone it cannot read."""
    fields = BudgetConstraint.model_fields
    return current_window(
        str(spec.get("resetSchedule") or fields["reset_schedule"].default),
        str(spec.get("timezone") or fields["timezone"].default),
        now,
    )


def money_str(amount: Decimal) -> str:
    """An amount as the spec writes it: exactly two decimals ("100.00")."""
    return f"{amount.quantize(Decimal('0.01'))}"


def custom_resource(name: str, namespace: str, target_kind: str, target_name: str, constraint: BudgetConstraint,
                    currency: str, labels: Mapping[str, str], webhook_secret: tuple[str, str] | None) -> dict[str, Any]:
    """A BudgetConstraint object for a datum's ``budget_constraint`` (the webhook URL only by Secret)."""
    spec: dict[str, Any] = {
        "target": {"kind": target_kind, "name": target_name},
        "dailyLimit": money_str(constraint.daily_limit),
        "currency": currency,
        "onBudgetExceeded": constraint.on_budget_exceeded,
        "resetSchedule": constraint.reset_schedule,
        "timezone": constraint.timezone,
    }
    if constraint.cost_per_job is not None:
        spec["costPerJob"] = money_str(constraint.cost_per_job)
    if constraint.alert_threshold is not None:
        spec["alertThreshold"] = constraint.alert_threshold
    if webhook_secret:
        spec["webhookSecretRef"] = {"name": webhook_secret[0], "key": webhook_secret[1]}
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": name, "namespace": namespace, "labels": dict(sorted(labels.items()))},
            "spec": spec}


# -- status -------------------------------------------------------------------------------------------


def amount_str(d: Decimal) -> str:
    """An exact decimal string with at least cents: "6.00", "0.125"."""
    q = d.quantize(Decimal("0.01"))
    return str(q) if q == d else str(d)


def _decimal(value: Any) -> Decimal | None:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _condition(kind: str, ok: bool | None, reason: str, message: str, generation: int | None,
               previous: Mapping[str, Mapping[str, Any]], now: str) -> dict[str, Any]:
    status = "Unknown" if ok is None else ("True" if ok else "False")
    before = previous.get(kind)
    since = now
    if before is not None and before.get("status") == status:
        since = str(before.get("lastTransitionTime") or now)
    out: dict[str, Any] = {"type": kind, "status": status, "reason": reason, "message": message,
                           "lastTransitionTime": since}
    if generation is not None:
        out["observedGeneration"] = generation
    return out


def conditions(spec: Mapping[str, Any], spend: Decimal, window: str, generation: int | None,
               previous: list[Mapping[str, Any]] | None, now: datetime) -> list[dict[str, Any]]:
    """WithinBudget, AlertThresholdReached and Exceeded for ``spend`` in ``window`` under ``spec``.

    ``lastTransitionTime`` moves only when a condition's status changes."""
    prev = {str(c.get("type")): c for c in previous or [] if isinstance(c, Mapping)}
    t = iso_utc(now.replace(microsecond=0))  # metav1.Time: whole seconds
    limit = _decimal(spec.get("dailyLimit"))
    currency = str(spec.get("currency") or "")
    if limit is None:
        msg = "spec.dailyLimit is not set: nothing to compare the spend with"
        return [_condition(k, None, "NoLimit", msg, generation, prev, t) for k in CONDITION_TYPES]
    of = f"{amount_str(limit)} {currency}".strip()
    text = f"{amount_str(spend)} of {of} spent in the window starting {window}"
    over = spend > limit
    threshold = _decimal(spec.get("alertThreshold"))
    out = [_condition(WITHIN_BUDGET, not over, "OverLimit" if over else "WithinLimit", text, generation, prev, t)]
    if threshold is None:
        out.append(_condition(ALERT_THRESHOLD_REACHED, False, "NoThreshold", "spec.alertThreshold is not set",
                              generation, prev, t))
    else:
        reached = spend >= limit * threshold
        out.append(_condition(ALERT_THRESHOLD_REACHED, reached, "ThresholdReached" if reached else "BelowThreshold",
                              f"{text}; alert at {threshold.normalize():f} of the limit", generation, prev, t))
    out.append(_condition(EXCEEDED, over, "OverLimit" if over else "WithinLimit", text, generation, prev, t))
    return out


def summarize(obj: Mapping[str, Any], status: dict[str, Any], now: datetime, keep_windows: int = 8) -> None:
    """Fill the summary fields of ``status`` (in place) from its windows and reservations and the
    object's spec and generation: prune to the newest ``keep_windows`` windows, then windowStart/End,
    lastReset, currentSpend, reserved, remaining, jobsRun, alertsSent, observedGeneration, conditions."""
    spec = obj.get("spec") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    gen = int(generation) if isinstance(generation, int) and not isinstance(generation, bool) else None
    windows: dict[str, Any] = status.get("windows") or {}
    kept = sorted(windows, reverse=True)[:keep_windows]
    status["ledger"] = LEDGER_SCHEMA
    status["windows"] = {k: windows[k] for k in sorted(kept)}
    status["reservations"] = {rid: r for rid, r in (status.get("reservations") or {}).items()
                              if r.get("window") in status["windows"]}
    if gen is not None:
        status["observedGeneration"] = gen
    if not kept:
        return
    newest = kept[0]
    w = windows[newest]
    mine = [r for r in status["reservations"].values() if r["window"] == newest]
    spend = _decimal(w.get("spend", "0")) or Decimal(0)
    status["windowStart"] = newest
    status["lastReset"] = newest
    try:
        status["windowEnd"] = iso_utc(spec_window(spec, parse_time(newest)).end)
    except B00tError:
        status.pop("windowEnd", None)  # a spec this code cannot read: leave the end out rather than guess
    status["currentSpend"] = amount_str(spend)
    status["reserved"] = amount_str(sum((Decimal(str(r["amount"])) for r in mine if r["state"] == "reserved"),
                                        Decimal(0)))
    limit = _decimal(spec.get("dailyLimit"))
    if limit is not None:
        status["remaining"] = amount_str(limit - spend)
    status["jobsRun"] = sum(1 for r in mine if r["state"] != "released")
    status["alertsSent"] = list(w.get("alerts", []))
    status["conditions"] = conditions(spec, spend, newest, gen, status.get("conditions"), now)

