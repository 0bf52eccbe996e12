import pytest

from b00t_pulumi.datum.docker_args import DockerArgsError, PortMapping, VolumeMount, parse_docker_args


def test_upstream_n8n_args() -> None:
    a = parse_docker_args(["-p", "5678:5678", "-v", "~/.n8n:/home/node/.n8n", "--name", "n8n",
                           "--restart", "unless-stopped"])
    assert a.ports == [PortMapping(5678, 5678, "TCP")]
    assert a.volumes == [VolumeMount("~/.n8n", "/home/node/.n8n", False)]
    assert not a.volumes[0].is_named
    assert (a.name, a.restart, a.unsupported) == ("n8n", "unless-stopped", [])


def test_forms() -> None:
    a = parse_docker_args(["--publish=127.0.0.1:8080:80/udp", "-p6333:6333", "-e", "A=1", "--env=B=two=2",
                           "-v", "qdrant_storage:/qdrant/storage:z", "--volume", "cfg:/etc/x:ro", "-d", "-e", "C"])
    assert [p.container_port for p in a.ports] == [80, 6333]
    assert a.ports[0].protocol == "UDP"
    assert a.env == {"A": "1", "B": "two=2", "C": "${C}"}
    assert a.volumes[0].is_named and a.volumes[0].claim_suffix() == "qdrant-storage"
    assert a.volumes[1].read_only
    assert a.notes and "-d" in a.notes[0]


def test_unsupported_reported_not_dropped() -> None:
    a = parse_docker_args(["--gpus", "all", "--network=host", "--privileged"])
    assert a.unsupported == ["--gpus all", "--network=host", "--privileged"]


@pytest.mark.parametrize(("args", "index", "message"), [
    (["-p"], 0, "needs a value"),
    (["-p", "http"], 0, "CONTAINER"),
    (["-p", "99999"], 0, "1-65535"),
    (["-v", "only"], 0, "SOURCE:/container/path"),
    (["-e", "=x"], 0, "NAME=VALUE"),
    (["--name", "x", "--restart", "sometimes"], 2, "unless-stopped"),
])
def test_errors(args: list[str], index: int, message: str) -> None:
    with pytest.raises(DockerArgsError, match=message) as exc:
        parse_docker_args(args)
    assert exc.value.index == index
