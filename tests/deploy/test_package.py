"""The b00t Pulumi package: schema from the typed args, B00tCluster/B00tStack from typed args under
mocks, and the provider's error mapping."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from b00t_pulumi.deploy import args as package_args
from b00t_pulumi.deploy.package import B00tProvider, schema
from b00t_pulumi.settings import EnvironmentSettings
from tests.deploy.harness import REPO, Registration, dev_config, run_callable, run_program

pytestmark = pytest.mark.usefixtures("secret_env")


def test_schema_tokens_inputs_and_outputs() -> None:
    s = schema()
    assert s["name"] == "b00t"
    assert sorted(s["resources"]) == ["b00t:index:B00tCluster", "b00t:index:B00tStack"]
    cluster = s["resources"]["b00t:index:B00tCluster"]
    assert cluster["isComponent"] is True
    assert set(cluster["inputProperties"]) == {"settings", "datumPaths", "secrets", "kubeconfig", "context"}
    assert cluster["requiredInputs"] == []
    assert set(cluster["properties"]) == {"stacks", "jobs", "clusterQueue", "epochs", "notes"}
    assert cluster["properties"]["stacks"]["additionalProperties"]["$ref"] == "#/types/b00t:index:StackSummary"
    stack = s["resources"]["b00t:index:B00tStack"]
    assert stack["requiredInputs"] == ["stack"]
    assert stack["inputProperties"]["stack"]["description"].startswith("The stack's name")
    settings = s["types"]["b00t:index:SettingsArgs"]["properties"]
    assert settings["gpuInventory"]["$ref"] == "#/types/b00t:index:GpuInventoryArgs"
    assert s["types"]["b00t:index:PricesArgs"]["properties"]["gpuHour"]["additionalProperties"]["type"] == "string"
    budget = s["types"]["b00t:index:BudgetSummary"]["properties"]
    assert {"dailyLimit", "onBudgetExceeded", "spend", "outcome", "deferred"} <= set(budget)


def _typed_keys(td: Any) -> dict[str, Any]:
    return typing.get_type_hints(td)


def _check_mirror(td: Any, model: type[BaseModel], path: str) -> None:
    """Every field of ``model`` is a key of ``td`` (and back), nested models included."""
    from b00t_pulumi.datum.loader import _unwrap
    from b00t_pulumi.deploy.args import _list_model

    hints = _typed_keys(td)
    assert set(hints) == set(model.model_fields), path
    for name, f in model.model_fields.items():
        inner = _unwrap(f.annotation) or _list_model(f.annotation)
        if inner is not None:
            sub = hints[name]
            while typing.get_origin(sub) in (list, typing.NotRequired, typing.Required):
                sub = typing.get_args(sub)[0]
            _check_mirror(sub, inner, f"{path}.{name}")


def test_settings_args_mirror_the_settings_model() -> None:
    _check_mirror(package_args.SettingsArgs, EnvironmentSettings, "settings")


def _snake(d: Any) -> Any:
    import re

    if isinstance(d, dict):
        return {(re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower() if k[:1].islower() and "-" not in k else k): _snake(v)
                for k, v in d.items()}
    if isinstance(d, list):
        return [_snake(v) for v in d]
    return d


def _by_urn(regs: list[Registration]) -> dict[str, dict[str, Any]]:
    return {r.urn: r.inputs for r in regs}


def test_cluster_from_typed_settings_equals_the_program_from_config(kubeconfig: Path) -> None:
    """B00tCluster with settings as args (snake_case, as a Python caller writes them) registers exactly
    what the program registers from the dev stack config."""
    from b00t_pulumi.deploy.cluster import B00tCluster

    config = dev_config({"kubernetes:kubeconfig": str(kubeconfig)})
    from_config = run_program(config)
    camel = {k.partition(":")[2]: v for k, v in config.items() if k.startswith("b00t:")}
    if "skipAwait" in camel:
        camel["skipAwait"] = camel["skipAwait"] in ("true", True)
    settings = _snake(camel)
    only_k8s = {k: v for k, v in config.items() if not k.startswith("b00t:")}

    def body() -> None:
        B00tCluster("b00t", {"settings": settings})

    from_args = run_callable(only_k8s, body)
    assert _by_urn(from_args) == _by_urn(from_config)
    assert len(from_args) > 50


def test_settings_errors_name_the_component_and_key(kubeconfig: Path) -> None:
    from b00t_pulumi.deploy.cluster import B00tCluster
    from b00t_pulumi.errors import B00tError

    def body() -> None:
        B00tCluster("b00t", {"settings": {"namespace": "Not_A_Name", "kueue": {"borrowing_limit": 2}}})

    with pytest.raises(B00tError) as exc:
        run_callable({"kubernetes:kubeconfig": str(kubeconfig)}, body)
    text = str(exc.value)
    assert "B00tCluster b00t: settings: b00t:namespace:" in text
    assert "borrowingLimit needs a cohort" in text


def test_stack_alone_has_its_budget_crd_and_gate(kubeconfig: Path) -> None:
    from b00t_pulumi.deploy.components import B00tStack

    config = dev_config({"kubernetes:kubeconfig": str(kubeconfig)})

    def body() -> None:
        B00tStack("llm", {"stack": "llm-inference-pipeline"})

    regs = run_callable(config, body)
    types = [r.type for r in regs]
    assert types.count("kubernetes:apps/v1:Deployment") == 3
    assert types.count("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition") == 1
    assert types.count("kubernetes:b00t.io/v1:BudgetConstraint") == 1
    gate = next(r for r in regs if r.name == "budget-gate-llm-inference-pipeline-budget")
    assert [i["id"] for i in gate.inputs["items"]] == ["deployment/n8n", "deployment/pytorch", "deployment/vllm-server"]
    vllm = next(r for r in regs if r.name.endswith("-vllm-server") and r.type.endswith("Deployment"))
    assert gate.urn in vllm.dependencies  # workloads wait for the gate

    def no_crd() -> None:
        B00tStack("llm", {"stack": "llm-inference-pipeline", "create_budget_crd": False})

    assert not [r for r in run_callable(config, no_crd) if r.type.endswith("CustomResourceDefinition")]


def test_stack_secrets_from_args_win(kubeconfig: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from b00t_pulumi.deploy.components import B00tStack
    from tests.deploy.harness import is_secret

    monkeypatch.delenv("N8N_BASIC_AUTH_PASSWORD")
    config = dev_config({"kubernetes:kubeconfig": str(kubeconfig)})

    def body() -> None:
        B00tStack("llm", {"stack": "llm-inference-pipeline", "secrets": {"N8N_BASIC_AUTH_PASSWORD": "from-args"}})

    n8n = next(r for r in run_callable(config, body) if r.name.endswith("n8n-env"))
    assert is_secret(n8n.inputs["stringData"])
    assert n8n.inputs["stringData"]["value"] == {"N8N_BASIC_AUTH_PASSWORD": "from-args"}


def test_provider_reports_bad_input_as_property_errors(kubeconfig: Path) -> None:
    from pulumi.errors import InputPropertiesError

    provider = B00tProvider()
    caught: list[InputPropertiesError] = []

    def body() -> None:
        try:
            provider.construct("x", "b00t:index:B00tStack", {"stack": "llm-inference-pipelin"}, None)
        except InputPropertiesError as exc:
            caught.append(exc)

    run_callable(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}), body)
    (exc,) = caught
    assert exc.message == "b00t-pulumi: invalid input to b00t:index:B00tStack 'x'"
    assert exc.errors and "close matches: llm-inference-pipeline.stack" in exc.errors[0]["reason"]


def test_plugin_project_file() -> None:
    doc = yaml.safe_load((REPO / "provider" / "PulumiPlugin.yaml").read_text())
    assert doc["runtime"]["name"] == "python"
    assert (REPO / "provider" / doc["runtime"]["options"]["virtualenv"]).resolve() == (REPO / ".venv").resolve()


def test_yaml_example_settings_are_the_repository_dev_settings() -> None:
    root = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    example = yaml.safe_load((REPO / "examples" / "yaml" / "Pulumi.dev.yaml").read_text())
    assert example["encryptionsalt"] == root["encryptionsalt"]
    differs = {"kubernetes:kubeconfig", "b00t:datumPaths", "b00t:ledger"}
    assert {k: v for k, v in example["config"].items() if k not in differs} == \
        {k: v for k, v in root["config"].items() if k not in differs}
    here = REPO / "examples" / "yaml"
    assert [(here / p).resolve() for p in example["config"]["b00t:datumPaths"]] == \
        [(REPO / "stacks").resolve(), (REPO / "components").resolve()]
    assert (here / example["config"]["kubernetes:kubeconfig"]).resolve() == \
        (REPO / root["config"]["kubernetes:kubeconfig"]).resolve()
    assert example["config"]["b00t:ledger"] != root["config"]["b00t:ledger"]  # its spend is its own
    project = yaml.safe_load((here / "Pulumi.yaml").read_text())
    assert (here / project["packages"]["b00t"]).resolve() == (REPO / "provider").resolve()
    assert project["resources"]["b00t"]["type"] == "b00t:index:B00tCluster"
