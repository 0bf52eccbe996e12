"""The CLI: commands, exit codes, output formats, and that it never imports pulumi."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from b00t_pulumi.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


def test_validate_examples(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "validate", "--env", "dev")[0] == 0
    assert run(capsys, "validate", "--env", "prod", "--offline")[0] == 0  # its k8s:// ledger is a real cluster


def test_stack_list_and_show_json(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stack", "list", "--json")
    assert code == 0
    names = [r["name"] for r in json.loads(out)]
    assert names == ["llm-inference-pipeline", "marketing-sentiment-analysis"]
    _, out, _ = run(capsys, "stack", "show", "llm-inference-pipeline", "--env", "dev", "--json")
    info = json.loads(out)
    assert info["namespace"] == "ai-ml-dev"
    assert info["epoch"]["batch_window"] == "15m"
    assert {m["id"]: m["gpus"] for m in info["member_details"]}["vllm-server.docker"] == 1
    assert info["budget"]["webhook"] == "set (secret)"
    # upstream b00t's `stack show --json` keys: members are ids
    assert info["members"] == ["python.cli", "pytorch.docker", "llama-70b.ai_model", "vllm-server.docker",
                               "n8n.docker"]
    assert info["type"] == "stack" and info["hint"].startswith("Complete LLM")
    assert info["depends_on"] == ["k0s.cli", "nvidia-driver.cli"]


def test_to_k8s_yaml_and_dir(in_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "stack", "to-k8s", "llm-inference-pipeline", "--env", "dev")
    docs = list(yaml.safe_load_all(out))
    assert code == 0 and docs[0]["kind"] == "Namespace"
    assert "host tool" in err
    assert [d["kind"] for d in docs].count("Deployment") == 3
    code, _, err = run(capsys, "job", "to-k8s", "llm-batch-job", "-o", str(tmp_path / "out"))
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert code == 0 and any(f.endswith("job-llm-batch-job.yaml") for f in files)


def test_to_k8s_all_matches_planner(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stack", "to-k8s", "--all", "--env", "dev")
    assert code == 0
    kinds = {d["kind"] for d in yaml.safe_load_all(out)}
    assert {"ClusterQueue", "LocalQueue", "ResourceFlavor", "ConfigMap", "Job", "BudgetConstraint"} <= kinds


@pytest.mark.parametrize("verb", ["to-crd", "to-argo", "to-tekton"])
def test_other_renderings(in_repo: Path, capsys: pytest.CaptureFixture[str], verb: str) -> None:
    code, out, _ = run(capsys, "stack", verb, "llm-inference-pipeline")
    assert code == 0 and list(yaml.safe_load_all(out))


def test_exit_codes(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "stack", "show", "llm-inference-pipelin")
    assert code == 1 and "not found" in err and "close matches: llm-inference-pipeline.stack" in err
    assert run(capsys, "stack", "frobnicate")[0] == 2
    assert run(capsys)[0] == 2
    assert run(capsys, "stack", "to-k8s")[0] == 2
    code, _, err = run(capsys, "stack", "list", "--env", "nope")
    assert code == 1 and "Pulumi.nope.yaml" in err


def test_workflow_job_cannot_become_a_k8s_job(corpus: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "example-workflow.job.toml").write_bytes((corpus / "example-workflow.job.toml").read_bytes())
    code, _, err = run(capsys, "job", "to-k8s", "example-workflow", "--datums", str(tmp_path))
    assert code == 1 and "workflow-style job" in err


def test_datums_from_env_var(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("B00T_DATUMS", f"{repo / 'stacks'}:{repo / 'components'}")
    code, out, _ = run(capsys, "stack", "list")
    assert code == 0 and "llm-inference-pipeline" in out


def test_cli_does_not_import_pulumi(repo: Path) -> None:
    code = ("import sys, b00t_pulumi.cli.main as m; m.build_parser(); "
            "import b00t_pulumi.plan.planner, b00t_pulumi.plan.workflows; "
            "print(sorted(k for k in sys.modules if k == 'pulumi' or k.startswith('pulumi.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo)
    assert out.stdout.strip() == "[]"


toml_values = st.recursive(
    st.one_of(st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=12), st.sampled_from(["15m", "16Gi", "nvidia-a100", "x.docker", "-p", "80:80"])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "type", "members", "image", "docker_args", "orchestration", "gpu_requirements",
                         "budget_constraint", "daily_limit", "count", "env", "k8s", "gpu_epoch", "x"]),
        children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(b00t=st.dictionaries(st.sampled_from(["name", "type", "members", "image", "docker_args", "orchestration",
                                               "env", "depends_on", "hint", "command", "args", "zzz"]),
                            toml_values, max_size=6),
       dtype=st.sampled_from(["stack", "docker", "job", "cli", "ai_model", "k8s", "mcp"]))
def test_any_datum_gives_problems_not_tracebacks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 b00t: dict[str, object], dtype: str) -> None:
    doc = {"b00t": {"type": dtype, **b00t}}
    f = tmp_path / f"fuzz.{dtype}.toml"
    f.write_text(tomli_w.dumps(doc))
    code, out, _ = run(capsys, "validate", str(f))
    assert code in (0, 1)
    if code == 1:
        assert all(": " in ln for ln in out.splitlines())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_give_problems_not_tracebacks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                data: bytes) -> None:
    f = tmp_path / "junk.docker.toml"
    f.write_bytes(data)
    code, _, _ = run(capsys, "validate", str(f))
    assert code in (0, 1)


def test_console_script_runs(repo: Path) -> None:
    exe = Path(sys.executable).parent / "b00t-pulumi"
    out = subprocess.run([str(exe), "validate", "-q"], capture_output=True, text=True, cwd=repo,
                         env={**os.environ, "B00T_DATUMS": ""})
    assert out.returncode == 0, out.stdout + out.stderr


def test_gpu_epochs_and_show_epoch(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "gpu-epochs", "--env", "dev", "--now", "2026-11-22T21:00:00Z", "--json")
    data = json.loads(out)
    assert code == 0 and data["loads"] == 1 and data["jobs"] == 1
    (epoch,) = data["epochs"]
    assert epoch["group"] == "llama-70b-q4" and epoch["load_start"] == "2026-11-22T21:00:00Z"
    assert epoch["start"] == "2026-11-22T21:01:24Z"  # after the 84 s load of the 70B model
    assert [j["id"] for j in epoch["jobs"]] == ["llm-batch-job"]
    code, out, _ = run(capsys, "show-epoch", "llama-70b-q4", "--env", "dev", "--now", "2026-11-22T21:00:00Z")
    assert code == 0 and "llm-batch-job" in out
    code, _, err = run(capsys, "show-epoch", "mistral", "--env", "dev")
    assert code == 1 and "groups: llama-70b, llama-70b-q4" in err  # a batch group or its model
