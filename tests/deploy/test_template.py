"""templates/b00t-k8s, the `pulumi new` template: its datums are the repository's, its prompts are
the settings a newcomer must choose. (tests/engine/test_template.py instantiates it with pulumi.)"""

from __future__ import annotations

from pathlib import Path

import yaml

from b00t_pulumi.settings.model import EnvironmentSettings

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "b00t-k8s"


def test_template_datums_are_the_repository_examples(repo: Path) -> None:
    for d in ("stacks", "components"):
        ours = {p.name: p.read_text() for p in (repo / d).glob("*.toml")}
        theirs = {p.name: p.read_text() for p in (TEMPLATE / d).glob("*.toml")}
        assert theirs == ours, f"templates/b00t-k8s/{d} differs from {d}/: copy them again"
    assert (TEMPLATE / "__main__.py").read_text().splitlines()[-1] == "main()"


def test_template_prompts_and_project_name() -> None:
    doc = yaml.safe_load((TEMPLATE / "Pulumi.yaml").read_text())
    assert doc["name"] == "${PROJECT}" and doc["description"] == "${DESCRIPTION}"
    assert doc["runtime"]["name"] == "python"
    prompts = doc["template"]["config"]
    assert set(prompts) == {"b00t:namespace", "kubernetes:kubeconfig", "kubernetes:context", "b00t:ledger"}
    assert all(p["description"] and p["default"] for p in prompts.values())
    # the b00t prompts are settings the program validates
    fields = {f.alias for f in EnvironmentSettings.model_fields.values()}
    assert {k.partition(":")[2] for k in prompts if k.startswith("b00t:")} <= fields
    project_config = {k.partition(":")[2]: v["value"] for k, v in doc["config"].items() if k.startswith("b00t:")}
    EnvironmentSettings.model_validate({**project_config, **{k.partition(":")[2]: v["default"]
                                                            for k, v in prompts.items() if k.startswith("b00t:")}})
