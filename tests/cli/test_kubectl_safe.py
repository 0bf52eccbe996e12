"""The render commands are safe to pipe into kubectl, and upstream b00t's command shapes work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from b00t_pulumi.cli.main import main
from b00t_pulumi.plan.render import REDACTED

SECRET_ENV = {"N8N_BASIC_AUTH_PASSWORD": "pw-9f3e1d", "N8N_BUDGET_WEBHOOK_URL": "http://hook.test/webhook/x7",
              "VLLM_API_KEY": "key-55aa", "HF_TOKEN": "hf-0c0c"}
STACK = "llm-inference-pipeline"


def cli(repo: Path, *argv: str, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    """The console script in a subprocess: stdout is a pipe, as in `... | kubectl apply -f -`."""
    exe = Path(sys.executable).parent / "b00t-pulumi"
    full = {k: v for k, v in os.environ.items() if k not in SECRET_ENV and k != "B00T_DATUMS"}
    if cwd is not None:
        full["B00T_DATUMS"] = f"{repo / 'stacks'}:{repo / 'components'}"
    return subprocess.run([str(exe), *argv], capture_output=True, text=True, cwd=cwd or repo,
                          env={**full, **(env or {})}, check=False)


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


@pytest.mark.parametrize("argv", [["stack", "to-k8s", STACK, "--env", "dev"],
                                  ["stack", "to-k8s", "--all", "--env", "dev"],
                                  ["job", "to-k8s", "llm-batch-job"]])
def test_piped_default_output_has_no_placeholder_or_secret(repo: Path, argv: list[str]) -> None:
    out = cli(repo, *argv, env=SECRET_ENV)
    assert out.returncode == 0, out.stderr
    assert "<redacted" not in out.stdout and REDACTED not in out.stdout
    for value in SECRET_ENV.values():
        assert value not in out.stdout + out.stderr
    objs = docs(out.stdout)
    assert objs and not [o for o in objs if o["kind"] == "Secret"]
    # every Secret the workloads refer to is named on stderr with the command that creates it
    refs = {(o["metadata"]["namespace"], e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for o in objs if o["kind"] in ("Deployment", "Job")
            for c in o["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])
            if "valueFrom" in e}
    for ns, name, key in refs:
        assert f"kubectl create secret generic {name} -n {ns} --from-literal={key}=" in out.stderr


def test_create_secret_hint_takes_values_from_the_environment(repo: Path, tmp_path: Path) -> None:
    out = cli(repo, "stack", "to-k8s", STACK, "--env", "dev")
    line = next(ln.strip() for ln in out.stderr.splitlines() if "create secret generic n8n-env" in ln)
    assert line == ('kubectl create secret generic n8n-env -n ai-ml-dev '
                    '--from-literal=N8N_BASIC_AUTH_PASSWORD="${N8N_BASIC_AUTH_PASSWORD}"')
    # the hint is a shell command: run it through sh with a fake kubectl that prints its arguments
    fake = tmp_path / "kubectl"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    fake.chmod(0o755)
    run = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True,
                         env={"PATH": f"{tmp_path}:/usr/bin:/bin", "N8N_BASIC_AUTH_PASSWORD": "it's a \"pw\""})
    assert run.stdout.splitlines()[-1] == "--from-literal=N8N_BASIC_AUTH_PASSWORD=it's a \"pw\""


def test_secrets_show_prints_real_values_and_refuses_missing_ones(repo: Path) -> None:
    out = cli(repo, "stack", "to-k8s", STACK, "--secrets", "show", env=SECRET_ENV)
    assert out.returncode == 0, out.stderr
    secret = next(o for o in docs(out.stdout) if o["kind"] == "Secret" and o["metadata"]["name"] == "n8n-env")
    assert secret["stringData"] == {"N8N_BASIC_AUTH_PASSWORD": SECRET_ENV["N8N_BASIC_AUTH_PASSWORD"]}
    assert cli(repo, "stack", "to-k8s", STACK, "--show-secrets", env=SECRET_ENV).stdout == out.stdout
    missing = cli(repo, "stack", "to-k8s", STACK, "--secrets", "show",
                  env={k: v for k, v in SECRET_ENV.items() if k != "N8N_BASIC_AUTH_PASSWORD"})
    assert missing.returncode == 1 and missing.stdout == ""
    assert "Secret/ai-ml-pipelines/n8n-env: stringData.N8N_BASIC_AUTH_PASSWORD: secret has no value: " \
           "export N8N_BASIC_AUTH_PASSWORD" in missing.stderr


def test_crds_only_and_skip_crds_split_the_stream(repo: Path) -> None:
    whole = docs(cli(repo, "stack", "to-k8s", "--all", "--env", "dev").stdout)
    crds = cli(repo, "stack", "to-k8s", "--all", "--env", "dev", "--crds-only")
    rest = cli(repo, "stack", "to-k8s", "--all", "--env", "dev", "--skip-crds")
    assert {o["kind"] for o in docs(crds.stdout)} == {"CustomResourceDefinition"}
    assert "CustomResourceDefinition" not in {o["kind"] for o in docs(rest.stdout)}
    assert docs(crds.stdout) + docs(rest.stdout) == [o for o in whole if o["kind"] == "CustomResourceDefinition"] + \
        [o for o in whole if o["kind"] != "CustomResourceDefinition"]
    assert "two phases" in cli(repo, "stack", "to-k8s", "--all", "--env", "dev").stderr
    assert "two phases" not in crds.stderr + rest.stderr
    assert cli(repo, "stack", "to-k8s", "--all", "--crds-only", "--skip-crds").returncode == 2


def test_output_dir_puts_crds_in_their_own_phase_and_removes_stale_files(repo: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    shown = cli(repo, "stack", "to-k8s", STACK, "--env", "dev", "--secrets", "show", "-o", str(out_dir),
                env=SECRET_ENV)
    assert shown.returncode == 0 and list(out_dir.glob("*-secret-n8n-env.yaml"))
    mine = out_dir / "notes.yaml"
    mine.write_text("kept: true\n")
    out = cli(repo, "stack", "to-k8s", STACK, "--env", "dev", "-o", str(out_dir))
    assert out.returncode == 0
    assert not list(out_dir.glob("*secret*")), "a Secret file of the earlier --secrets show run is left"
    assert mine.exists()
    assert [p.name for p in sorted((out_dir / "crds").iterdir())] == \
        ["00-customresourcedefinition-budgetconstraints.b00t.io.yaml"]
    assert f"kubectl apply --server-side --field-manager=b00t-pulumi -f {out_dir}/crds/" in out.stderr
    assert "kubectl wait --for=condition=Established" in out.stderr
    files = sorted(p.name for p in out_dir.glob("*.yaml") if p != mine)
    assert files[0] == "00-namespace-ai-ml-dev.yaml"
    assert not [f for f in files if "customresourcedefinition" in f]


def _tree(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): p.read_text() for p in sorted(d.rglob("*")) if p.is_file()}


def test_upstream_output_dir_shapes_give_the_same_files(repo: Path, tmp_path: Path) -> None:
    ours = tmp_path / "ours"
    assert cli(repo, "stack", "to-k8s", STACK, "-o", str(ours), cwd=tmp_path).returncode == 0
    assert cli(repo, "stack", "to-k8s", STACK, "--output-dir", str(tmp_path / "explicit"),
               cwd=tmp_path).returncode == 0
    up = cli(repo, "stack", "to-k8s", STACK, "--output-dir", cwd=tmp_path)  # upstream default ./<stack>-k8s
    assert up.returncode == 0, up.stderr
    assert _tree(ours) == _tree(tmp_path / "explicit") == _tree(tmp_path / f"{STACK}-k8s")
    assert len(_tree(ours)) > 8
    job = cli(repo, "job", "to-k8s", "llm-batch-job", "--output-dir", cwd=tmp_path)
    assert job.returncode == 0 and any(p.name.endswith("-job-llm-batch-job.yaml")
                                       for p in (tmp_path / "llm-batch-job-k8s").iterdir())
    assert cli(repo, "stack", "to-k8s", STACK, "-o", "x", "--output-dir", "y", cwd=tmp_path).returncode == 2


def test_to_crd_output_file_and_pod_only(repo: Path, tmp_path: Path) -> None:
    import kubernetes_validate

    target = tmp_path / "llm-pipeline.yaml"  # upstream: b00t stack to-crd NAME --output llm-pipeline.yaml
    out = cli(repo, "stack", "to-crd", STACK, "--output", str(target))
    assert out.returncode == 0 and out.stdout == ""
    assert target.read_text() == cli(repo, "stack", "to-crd", STACK).stdout
    assert [d["kind"] for d in docs(target.read_text())] == ["CustomResourceDefinition", "AiMlPipeline"]
    pod = cli(repo, "stack", "to-crd", STACK, "--pod-only")
    (tmpl,) = docs(pod.stdout)
    assert tmpl["kind"] == "PodTemplate"
    kubernetes_validate.validate(tmpl, "1.36.0", strict=True)
    spec = tmpl["template"]["spec"]
    assert sorted(c["name"] for c in spec["containers"]) == ["n8n", "pytorch", "vllm-server"]
    assert tmpl["template"]["metadata"]["labels"]["b00t.io/gpu-batch-group"] == "llama-70b"


def test_stack_validate_name_and_all(repo: Path, tmp_path: Path) -> None:
    ok = cli(repo, "stack", "validate", STACK)
    assert ok.returncode == 0 and f"stack {STACK}: valid" in ok.stdout
    every = cli(repo, "stack", "validate", "--all")
    assert every.returncode == 0
    assert every.stdout.count(": valid") == 2
    assert cli(repo, "stack", "validate").returncode == 2
    assert cli(repo, "stack", "validate", STACK, "--all").returncode == 2
    missing = cli(repo, "stack", "validate", "llm-inference-pipelin")
    assert missing.returncode == 1 and "close matches: llm-inference-pipeline.stack" in missing.stderr
    # a broken member fails its stack only
    for d in ("stacks", "components"):
        (tmp_path / d).mkdir()
        for f in (repo / d).glob("*.toml"):
            (tmp_path / d / f.name).write_text(f.read_text())
    redis = tmp_path / "components" / "redis.docker.toml"
    redis.write_text(redis.read_text().replace("[b00t]", "[b00t]\nimagee = \"x\""))
    bad = cli(repo, "stack", "validate", "--all", cwd=tmp_path,
              env={"B00T_DATUMS": f"{tmp_path / 'stacks'}:{tmp_path / 'components'}"})
    assert bad.returncode == 1
    assert "stack marketing-sentiment-analysis: 2 error(s)" in bad.stdout
    assert f"stack {STACK}: valid" in bad.stdout
    assert "redis.docker.toml: b00t.imagee: unknown key 'imagee'" in bad.stdout
    assert "b00t.members[2]: datum 'redis.docker' not found" in bad.stdout


def test_json_shapes_of_upstream(in_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["stack", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(isinstance(m, str) for r in rows for m in r["members"])


def test_a_secret_the_datum_writes_out_is_never_in_the_hint() -> None:
    from b00t_pulumi.cli.output import create_secret_command
    from b00t_pulumi.plan.env import SecretValue

    dsn = "postgres://u:hunter2@db/x"
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db-env", "namespace": "ns"},
              "stringData": {"DATABASE_URL": SecretValue(dsn, dsn, True),
                             "webhook-url": SecretValue("http://hook/x", "http://hook/x", True),
                             "API_KEY": SecretValue("k", "${API_KEY}", True)}}
    line = create_secret_command(secret)
    assert "hunter2" not in line and "hook/x" not in line
    assert line == ('kubectl create secret generic db-env -n ns --from-literal=DATABASE_URL="${DATABASE_URL}" '
                    '--from-literal=webhook-url="${WEBHOOK_URL}" --from-literal=API_KEY="${API_KEY}"')
