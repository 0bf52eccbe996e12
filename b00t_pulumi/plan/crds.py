"""Custom resources of b00t-pulumi: the BudgetConstraint CRD and CRs, and the AiMlPipeline CRD.

Money is a string of digits (``"100.00"``) in the CRs: exact, never a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta

GROUP = "b00t.io"
VERSION = "v1"
API_VERSION = f"{GROUP}/{VERSION}"
MONEY_PATTERN = r"^[0-9]+(\.[0-9]+)?$"

_money: dict[str, Any] = {"type": "string", "pattern": MONEY_PATTERN}


def money_str(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def _crd(kind: str, plural: str, short: list[str], spec_schema: dict[str, Any], status_schema: dict[str, Any],
         columns: list[dict[str, Any]], description: str) -> K8sObject:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": meta(f"{plural}.{GROUP}", labels={"app.kubernetes.io/managed-by": MANAGED_BY}),
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                      "shortNames": short, "categories": ["b00t"]},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "description": description,
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "kind": {"type": "string"},
                                "metadata": {"type": "object"},
                                "spec": spec_schema,
                                "status": status_schema,
                            },
                            "required": ["spec"],
                        }
                    },
                }
            ],
        },
    }


def budget_constraint_crd() -> K8sObject:
    spec = {
        "type": "object",
        "required": ["dailyLimit", "currency", "onBudgetExceeded"],
        "properties": {
            "target": {
                "type": "object",
                "description": "the b00t stack or job this budget covers",
                "required": ["kind", "name"],
                "properties": {"kind": {"type": "string", "enum": ["Stack", "Job"]}, "name": {"type": "string"}},
            },
            "dailyLimit": {**_money, "description": "limit per window, e.g. \"100.00\""},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "costPerJob": {**_money, "description": "estimated cost of one job run"},
            "alertThreshold": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1},
            "webhookSecretRef": {
                "type": "object",
                "description": "Secret key holding the alert webhook URL (a secret, never in the spec)",
                "required": ["name", "key"],
                "properties": {"name": {"type": "string"}, "key": {"type": "string"}},
            },
            "onBudgetExceeded": {"type": "string", "enum": ["defer", "alert", "fail"]},
            "resetSchedule": {"type": "string", "description": "cron expression of window starts"},
            "timezone": {"type": "string"},
        },
    }
    status = {
        "type": "object",
        "description": "written by the b00t-pulumi ledger (k8s:// backend)",
        "properties": {
            "windowStart": {"type": "string", "format": "date-time"},
            "currentSpend": _money,
            "reserved": _money,
            "jobsRun": {"type": "integer", "minimum": 0},
            "lastReset": {"type": "string", "format": "date-time"},
            "alertsSent": {"type": "array", "items": {"type": "string"}},
            "reservations": {
                "type": "object",
                "description": "reservation id -> record",
                "additionalProperties": {
                    "type": "object",
                    "x-kubernetes-preserve-unknown-fields": True,
                },
            },
            "windows": {
                "type": "object",
                "description": "window start -> spend",
                "additionalProperties": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            },
        },
        "x-kubernetes-preserve-unknown-fields": True,
    }
    columns = [
        {"name": "Limit", "type": "string", "jsonPath": ".spec.dailyLimit"},
        {"name": "Currency", "type": "string", "jsonPath": ".spec.currency"},
        {"name": "Spend", "type": "string", "jsonPath": ".status.currentSpend"},
        {"name": "On-Exceeded", "type": "string", "jsonPath": ".spec.onBudgetExceeded"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("BudgetConstraint", "budgetconstraints", ["bc", "budget"], spec, status, columns,
                "A daily money limit for the jobs and deployments of a b00t stack or job")


def budget_constraint_cr(name: str, namespace: str, target_kind: str, target_name: str,
                         constraint: BudgetConstraint, currency: str, labels: dict[str, str],
                         webhook_secret: tuple[str, str] | None) -> K8sObject:
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
    return {"apiVersion": API_VERSION, "kind": "BudgetConstraint",
            "metadata": meta(name, namespace, labels=labels), "spec": spec}


def ai_ml_pipeline_crd() -> K8sObject:
    free = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    spec = {
        "type": "object",
        "properties": {
            "gpuBatching": {
                "type": "object",
                "properties": {
                    "enabled": {"type": "boolean"},
                    "batchGroup": {"type": "string"},
                    "modelId": {"type": "string"},
                    "batchWindow": {"type": "string"},
                    "maxConcurrentJobs": {"type": "integer", "minimum": 1},
                },
            },
            "resources": free,
            "budgetConstraint": free,
            "affinity": free,
            "containers": {"type": "array", "items": free},
            "volumes": {"type": "array", "items": free},
        },
    }
    status = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    columns = [
        {"name": "Batch-Group", "type": "string", "jsonPath": ".spec.gpuBatching.batchGroup"},
        {"name": "Model", "type": "string", "jsonPath": ".spec.gpuBatching.modelId"},
        {"name": "Daily-Limit", "type": "string", "jsonPath": ".spec.budgetConstraint.dailyLimit"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return _crd("AiMlPipeline", "aimlpipelines", ["aimlp"], spec, status, columns,
                "A b00t stack as one AI/ML pipeline resource (seed 000, `stack to-crd`)")
