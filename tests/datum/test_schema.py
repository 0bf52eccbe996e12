"""`b00t-pulumi schema`: the JSON Schema of datum files accepts the examples and the upstream corpus,
refuses what validate refuses as a key error, and works in taplo through `#:schema`."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from b00t_pulumi.datum.loader import load_file
from b00t_pulumi.datum.models import DATUM_CLASSES
from b00t_pulumi.datum.schema import SCHEMA_TYPES, datum_file_schema, settings_schema
from b00t_pulumi.settings import load_environment

TAPLO = Path(sys.executable).parent / "taplo"


def errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    """Every failure as ``key.path: message``, the branches of anyOf/if included."""
    out: list[str] = []

    def leaves(errs: Any) -> None:
        for e in errs:
            if e.context:
                leaves(e.context)
            else:
                out.append(f"{'.'.join(map(str, e.absolute_path))}: {e.message}")

    leaves(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    return out


def datum_type(path: Path, doc: dict[str, Any]) -> str:
    t = str(doc.get("b00t", {}).get("type") or path.name.split(".")[-2])
    return {"model": "ai_model"}.get(t, t)


def example_files(repo: Path) -> list[Path]:
    return sorted([*(repo / "stacks").glob("*.toml"), *(repo / "components").glob("*.toml")])


def test_schemas_are_valid_json_schema() -> None:
    for t in (None, *SCHEMA_TYPES):
        jsonschema.Draft202012Validator.check_schema(datum_file_schema(t))
    jsonschema.Draft202012Validator.check_schema(settings_schema())


def test_examples_validate_against_their_type_and_the_any_schema(repo: Path) -> None:
    files = example_files(repo)
    assert len(files) >= 14
    for f in files:
        doc = tomllib.loads(f.read_text())
        assert errors(datum_file_schema(datum_type(f, doc)), doc) == [], f
        assert errors(datum_file_schema(), doc) == [], f


def test_upstream_corpus_datums_that_load_validate(corpus: Path) -> None:
    checked = 0
    for f in sorted(corpus.glob("*.toml")):
        result = load_file(f)
        if result.errors:
            continue
        doc = tomllib.loads(f.read_text())
        assert errors(datum_file_schema(), doc) == [], f
        if datum_type(f, doc) in DATUM_CLASSES:
            assert errors(datum_file_schema(datum_type(f, doc)), doc) == [], f
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize(("edit", "where"), [
    (lambda b: b.update(imagee="redis:7"), "b00t"),
    (lambda b: b.setdefault("orchestration", {}).update(gpu_requirementz={}), "b00t.orchestration"),
    (lambda b: b.setdefault("orchestration", {}).update(gpu_requirements={"count": "two"}),
     "b00t.orchestration.gpu_requirements.count"),
    (lambda b: b.setdefault("orchestration", {}).update(
        budget_constraint={"daily_limit": 5, "on_budget_exceeded": "panic"}),
     "b00t.orchestration.budget_constraint.on_budget_exceeded"),
    (lambda b: b.update(docker_args="-p 80:80"), "b00t.docker_args"),
])
def test_bad_keys_are_refused_by_the_schema_and_by_the_loader(repo: Path, tmp_path: Path, edit: Any,
                                                              where: str) -> None:
    import tomli_w

    doc = tomllib.loads((repo / "components" / "redis.docker.toml").read_text())
    edit(doc["b00t"])
    found = errors(datum_file_schema("docker"), doc)
    assert any(e.startswith(f"{where}: ") for e in found), found
    f = tmp_path / "redis.docker.toml"
    f.write_text(tomli_w.dumps(doc))
    assert load_file(f).errors


def test_aliases_and_no_effect_keys_are_allowed(repo: Path) -> None:
    doc = tomllib.loads((repo / "components" / "vllm-server.docker.toml").read_text())
    orch = doc["b00t"].setdefault("orchestration", {})
    orch["gpu_requirements"] = {"count": 1, "type": "nvidia-a100", "gpu_sharing": True}  # the seeds' spellings
    orch["k8s_compatible"] = True  # upstream key with no effect: validate warns
    orch["gpu_epoch"] = {"model_id": "llama-70b-q4", "batch_window": "15m", "load_time": 84}
    doc["b00t"]["env"] = {"PORT": 8000, "DEBUG": True}
    assert errors(datum_file_schema("docker"), doc) == []


def test_settings_schema_accepts_the_stack_configs(repo: Path) -> None:
    import yaml

    for env in ("dev", "prod"):
        config = yaml.safe_load((repo / f"Pulumi.{env}.yaml").read_text())["config"]
        ours = {k.partition(":")[2]: v for k, v in config.items() if k.startswith("b00t:")}
        ours["skipAwait"] = ours.get("skipAwait") in ("true", True)
        assert errors(settings_schema(), ours) == [], env
        load_environment(env, repo)


def test_cli_prints_the_schema(repo: Path) -> None:
    exe = Path(sys.executable).parent / "b00t-pulumi"
    out = subprocess.run([str(exe), "schema", "job"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == datum_file_schema("job")
    bad = subprocess.run([str(exe), "schema", "jobb"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_committed_schema_files_are_current(repo: Path) -> None:
    """schemas/*.schema.json (what .taplo.toml points editors at) equal `b00t-pulumi schema`."""
    for t in SCHEMA_TYPES:
        assert json.loads((repo / "schemas" / f"{t}.schema.json").read_text()) == datum_file_schema(t), \
            f"schemas/{t}.schema.json is stale: b00t-pulumi schema {t} > schemas/{t}.schema.json"
    assert json.loads((repo / "schemas" / "datum.schema.json").read_text()) == datum_file_schema()
    assert json.loads((repo / "schemas" / "settings.schema.json").read_text()) == settings_schema()


def test_taplo_checks_datums_with_a_schema_directive(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "docker.schema.json").write_text(json.dumps(datum_file_schema("docker")))
    good = tmp_path / "redis.docker.toml"
    good.write_text("#:schema ./docker.schema.json\n" + (repo / "components" / "redis.docker.toml").read_text())
    bad = tmp_path / "bad.docker.toml"
    bad.write_text(good.read_text().replace("\nimage = ", "\nimagee = "))
    run = [str(TAPLO), "check", "--no-auto-config"]
    assert subprocess.run([*run, str(good)], cwd=tmp_path, capture_output=True, check=False).returncode == 0
    out = subprocess.run([*run, str(bad)], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert out.returncode == 1 and "'imagee' was unexpected" in out.stderr


def test_taplo_config_of_the_repository_checks_every_example(repo: Path, tmp_path: Path) -> None:
    ok = subprocess.run([str(TAPLO), "check"], cwd=repo, capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "found files total=14" in ok.stderr
