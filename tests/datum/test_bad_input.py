"""Bad input: every case is a clear one-line problem `FILE: KEY.PATH: message` and exit 1."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from b00t_pulumi.cli.main import main

LINE = re.compile(r"^(?P<file>[^:]+\.toml|[^:]+): (?P<rest>.+)$")

GOOD_DOCKER = """
[b00t]
name = "web"
type = "docker"
image = "nginx:1.27"
docker_args = ["-p", "80:80"]
"""


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(textwrap.dedent(text))
    return p


def validate(tmp: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["validate", str(tmp)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    lines = [ln for ln in out.out.splitlines() if ln.strip()]
    for ln in lines:
        assert LINE.match(ln), ln
    return code, lines


def errors(lines: list[str]) -> list[str]:
    return [ln for ln in lines if ": warning: " not in ln]


def stack(members: str, orchestration: str = "") -> str:
    return f'[b00t]\nname = "app"\ntype = "stack"\nmembers = {members}\n{orchestration}'


@pytest.mark.parametrize(
    ("files", "expect"),
    [
        ({"x.docker.toml": "[b00t\nname='x'"}, r"x\.docker\.toml: invalid TOML: .*line 1"),
        ({"x.docker.toml": 'name = "x"\n'}, r"x\.docker\.toml: b00t: missing \[b00t\] table"),
        ({"x.docker.toml": '[b00t]\ntype = "docker"\n'}, r"b00t\.name: missing"),
        ({"x.docker.toml": '[b00t]\nname = "x"\ntype = "docker"\nimage = 5\n'}, r"b00t\.image: .*string"),
        ({"x.docker.toml": GOOD_DOCKER + "imgae = 'x'\n"}, r"b00t\.imgae: unknown key 'imgae': did you mean 'image'\?"),
        ({"x.docker.toml": GOOD_DOCKER + "[extra]\nk = 1\n"}, r"x\.docker\.toml: extra: unknown key 'extra'"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration]\nschedul_type = 'gpu_affinity'\n")},
         r"b00t\.orchestration\.schedul_type: unknown key 'schedul_type': did you mean 'schedule_type'\?"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.gpu_requirements]\ncount = 1\ngpu_typ = 'x'\n")},
         r"b00t\.orchestration\.gpu_requirements\.gpu_typ: unknown key 'gpu_typ': did you mean 'gpu_type'\?"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.budget_constraint]\ndaily_limit = -5\n")},
         r"b00t\.orchestration\.budget_constraint\.daily_limit: an amount of money cannot be negative"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.budget_constraint]\ndaily_limit = 'lots'\n")},
         r"daily_limit: expected an amount of money"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.budget_constraint]\ndaily_limit = 0\n")},
         r"daily_limit: daily_limit must be greater than 0"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.budget_constraint]\ndaily_limit = 5\n"
                                  "on_budget_exceeded = 'panic'\n")},
         r"on_budget_exceeded: expected one of 'defer', 'alert' or 'fail'"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.budget_constraint]\ndaily_limit = 5\n"
                                  "reset_schedule = 'daily'\n")}, r"reset_schedule: expected a cron expression"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.budget_constraint]\ndaily_limit = 5\n"
                                  "timezone = 'Mars/Olympus'\n")}, r"timezone: expected an IANA time zone"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.resource_requirements]\nmemory = '16GB'\n")},
         r"resource_requirements\.memory: expected a Kubernetes quantity"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.gpu_epoch]\nmodel_id = 'm'\nbatch_window = 'soon'\n")},
         r"gpu_epoch\.batch_window: expected a duration"),
        ({"app.stack.toml": stack("[]", "[b00t.orchestration.gpu_requirements]\ncount = -1\n")},
         r"gpu_requirements\.count: .*greater than or equal to 0"),
        ({"app.stack.toml": stack("'web.docker'")}, r"b00t\.members: .*list"),
        ({"app.stack.toml": stack('["web.docker"]'), "w.docker.toml": GOOD_DOCKER.replace('"web"', '"Web_1"')},
         r"w\.docker\.toml: b00t\.name: 'Web_1' is not a valid Kubernetes name"),
        ({"app.stack.toml": stack('["wbe.docker"]'), "web.docker.toml": GOOD_DOCKER},
         r"app\.stack\.toml: b00t\.members\[0\]: datum 'wbe\.docker' not found in .*; close matches: web\.docker"),
        ({"a.docker.toml": GOOD_DOCKER, "b.docker.toml": GOOD_DOCKER},
         r"b\.docker\.toml: b00t\.name: duplicate datum id 'web\.docker': also defined in .*a\.docker\.toml"),
        ({"a.stack.toml": '[b00t]\nname = "a"\ntype = "stack"\nmembers = ["b.stack"]\n',
          "b.stack.toml": '[b00t]\nname = "b"\ntype = "stack"\nmembers = ["a.stack"]\n'},
         r"dependency cycle: a\.stack -> b\.stack -> a\.stack"),
        ({"j.job.toml": '[b00t]\nname = "j"\ntype = "job"\nimage = "x:1"\n[b00t.orchestration]\n'
                        'requires_stacks = ["nope"]\n'},
         r"requires_stacks\[0\]: stack 'nope\.stack' not found"),
        ({"x.docker.toml": GOOD_DOCKER.replace('["-p", "80:80"]', '["-p", "web"]')},
         r"b00t\.docker_args\[0\]: -p 'web': expected"),
        ({"x.docker.toml": GOOD_DOCKER + "[b00t.env]\nA = [1, 2]\n"}, r"b00t\.env\.A: expected a string"),
    ],
)
def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    files: dict[str, str], expect: str) -> None:
    for name, text in files.items():
        write(tmp_path, name, text)
    code, lines = validate(tmp_path, capsys)
    assert code == 1
    assert any(re.search(expect, ln) for ln in errors(lines)), "\n".join(lines)


def test_gpu_members_must_be_chosen(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "a.docker.toml", GOOD_DOCKER.replace('"web"', '"a"'))
    write(tmp_path, "b.docker.toml", GOOD_DOCKER.replace('"web"', '"b"'))
    write(tmp_path, "app.stack.toml", stack('["a.docker", "b.docker"]',
                                            "[b00t.orchestration.gpu_requirements]\ncount = 1\n"))
    code, lines = validate(tmp_path, capsys)
    assert code == 1
    assert any("gpu_members" in ln and "a.docker, b.docker" in ln for ln in lines), lines


def test_no_effect_keys_warn_and_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "app.stack.toml", stack("[]", "[b00t.orchestration]\nk8s_compatible = true\n"
                                                  "pod_template_source = 'datum_display'\n"))
    code, lines = validate(tmp_path, capsys)
    assert code == 0
    assert any("k8s_compatible: warning: has no effect" in ln for ln in lines)


def test_valid_directory_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "web.docker.toml", GOOD_DOCKER)
    write(tmp_path, "app.stack.toml", stack('["web.docker"]'))
    assert validate(tmp_path, capsys) == (0, [])
