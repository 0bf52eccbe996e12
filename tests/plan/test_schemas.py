"""Every planned object validates offline: Kubernetes 1.36 OpenAPI (strict), Kueue CRDs, our CRDs."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from b00t_pulumi.plan import Planner
from b00t_pulumi.plan.crds import ai_ml_pipeline_crd, budget_constraint_crd
from b00t_pulumi.plan.render import materialize
from b00t_pulumi.plan.workflows import to_crd
from b00t_pulumi.settings import OperatorSettings

K8S_VERSION = "1.36.0"


def openapi_validate(obj: dict[str, Any], schema: dict[str, Any]) -> None:
    """CRD schemas are OpenAPI 3.0 (JSON Schema draft 4 keywords, e.g. boolean exclusiveMinimum)."""
    jsonschema.Draft4Validator(schema).validate(obj)


def _crd_schema(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def _objects(planner: Planner) -> list[dict[str, Any]]:
    cp = planner.plan_cluster()
    objs = [materialize(o, show_secrets=False) for o in cp.all_objects()]
    objs += [materialize(o, show_secrets=False) for s in planner.selected_stacks() for o in to_crd(planner, s)]
    return objs


def test_builtin_kinds_validate_strict(env_planner: Planner) -> None:
    checked = 0
    for obj in _objects(env_planner):
        if "." in obj["apiVersion"].split("/")[0] and not obj["apiVersion"].startswith(
                ("apps/", "batch/", "autoscaling/", "apiextensions.k8s.io/")):
            continue
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        checked += 1
    assert checked >= 20


def test_kueue_objects_match_kueue_crds(env_planner: Planner, kueue_schemas: dict[tuple[str, str], Any]) -> None:
    # with the b00t operator the ClusterQueue also lists the AdmissionCheck it answers
    settings = env_planner.settings.model_copy(update={"operator": OperatorSettings(local=True)})
    with_operator = Planner(env_planner.catalog, settings, environ={})
    kueue = [o for o in _objects(with_operator) if o["apiVersion"].startswith("kueue.x-k8s.io/")]
    assert {o["kind"] for o in kueue} == {"ResourceFlavor", "AdmissionCheck", "ClusterQueue", "LocalQueue"}
    for obj in kueue:
        assert obj["apiVersion"] == "kueue.x-k8s.io/v1beta2"
        openapi_validate(obj, kueue_schemas[(obj["apiVersion"], obj["kind"])])


def test_budget_and_pipeline_crs_match_our_crds(env_planner: Planner) -> None:
    schemas = {"BudgetConstraint": _crd_schema(budget_constraint_crd()),
               "AiMlPipeline": _crd_schema(ai_ml_pipeline_crd())}
    seen = set()
    for obj in _objects(env_planner):
        if obj["kind"] in schemas:
            openapi_validate(obj, schemas[obj["kind"]])
            seen.add(obj["kind"])
    assert seen == set(schemas)


def test_bad_cr_is_rejected_by_our_crd() -> None:
    schema = _crd_schema(budget_constraint_crd())
    bad = {"apiVersion": "b00t.io/v1", "kind": "BudgetConstraint", "metadata": {"name": "x"},
           "spec": {"dailyLimit": 100.0, "currency": "usd", "onBudgetExceeded": "panic"}}
    with pytest.raises(jsonschema.ValidationError):
        openapi_validate(bad, schema)


def test_kubernetes_schema_catches_a_broken_object(dev_planner: Planner) -> None:
    dep = next(o for o in _objects(dev_planner) if o["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["ports"] = [{"containerPort": "eighty"}]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(dep, K8S_VERSION, strict=True)
