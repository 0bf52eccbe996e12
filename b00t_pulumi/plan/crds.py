"""Custom resources of b00t-pulumi: the BudgetConstraint CRD and CRs, and the AiMlPipeline CRD.

The BudgetConstraint API (spec, status, printer columns) is defined once, in
``b00t_pulumi.budget.api``; this module hands it to the planner. Money is a string of digits
(``"100.00"``) in the CRs: exact, never a float.
"""

from __future__ import annotations

from typing import Any

from b00t_pulumi.budget import api as budget_api
from b00t_pulumi.budget.api import money_str
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta

GROUP = budget_api.GROUP
VERSION = budget_api.VERSION
API_VERSION = budget_api.API_VERSION

__all__ = ["API_VERSION", "GROUP", "VERSION", "ai_ml_pipeline_crd", "budget_constraint_cr", "budget_constraint_crd",
           "money_str"]


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
    """The BudgetConstraint CRD of ``b00t_pulumi.budget.api``."""
    return budget_api.crd()


def budget_constraint_cr(name: str, namespace: str, target_kind: str, target_name: str,
                         constraint: BudgetConstraint, currency: str, labels: dict[str, str],
                         webhook_secret: tuple[str, str] | None) -> K8sObject:
    return budget_api.custom_resource(name, namespace, target_kind, target_name, constraint, currency, labels,
                                      webhook_secret)


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
