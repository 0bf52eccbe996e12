"""`pulumi new` from templates/b00t-k8s: the prompts become the stack config, the project name is
substituted, and the new project previews against a local API server."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

from tests.engine.engine import REPO, Cluster, Project, project_env


def test_template_instantiates_and_previews(module_cluster: Cluster, tmp_path: Path) -> None:
    # A virtualenv that sees this repository's packages (b00t-pulumi is not on PyPI): what a
    # user makes with `pip install /path/to/b00t-pulumi`.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # addsitedir (not a bare path) so the .pth files there, b00t-pulumi's editable install, apply too
    (site / "b00t-repo.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")
    target = tmp_path / "my-b00t"
    (tmp_path / "state").mkdir()
    env = project_env(tmp_path, module_cluster)
    ledger = f"sqlite:///{tmp_path / 'ledger.db'}"
    new = Project(tmp_path, env)
    new.pulumi("new", str(REPO / "templates" / "b00t-k8s"), "--dir", str(target), "--name", "my-b00t",
               "--description", "team A's pipelines", "--stack", "dev", "--yes",
               "--runtime-options", f"virtualenv={venv}",
               "-c", "b00t:namespace=team-a", "-c", f"kubernetes:kubeconfig={module_cluster.kubeconfig}",
               "-c", "kubernetes:context=Default", "-c", f"b00t:ledger={ledger}")
    project = yaml.safe_load((target / "Pulumi.yaml").read_text())
    assert project["name"] == "my-b00t" and project["description"] == "team A's pipelines"
    assert project["runtime"]["options"]["virtualenv"] == str(venv)
    assert "template" not in project
    config = yaml.safe_load((target / "Pulumi.dev.yaml").read_text())["config"]
    assert config["b00t:namespace"] == "team-a"
    assert config["kubernetes:context"] == "Default"
    assert config["kubernetes:kubeconfig"] == str(module_cluster.kubeconfig)
    assert config["b00t:ledger"] == ledger
    assert (target / "README.md").read_text().startswith("# my-b00t")
    assert sorted(p.name for p in (target / "stacks").iterdir()) == sorted(p.name for p in (REPO / "stacks").iterdir())
    made = Project(target, env)
    preview = made.pulumi("preview", "--stack", "dev", "--json")
    steps = json.loads(preview.stdout)["steps"]
    names = {s["urn"].rsplit("::", 1)[1] for s in steps}
    assert "team-a-llm-batch-job" in names and "team-a" in names
