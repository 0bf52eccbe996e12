"""Parse upstream ``docker_args`` (``-p``, ``-v``, ``-e``, ``--name``, ``--restart``) into structure.

Upstream b00t docker datums have no structured ports or volumes: they carry the arguments of
``docker run``. Arguments without a Kubernetes meaning are reported, never silently dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from b00t_pulumi.datum.quantities import to_dns1123

# Flags that take a value: canonical name -> accepted spellings.
_VALUE_FLAGS = {
    "publish": ("-p", "--publish"),
    "volume": ("-v", "--volume"),
    "env": ("-e", "--env"),
    "name": ("--name",),
    "restart": ("--restart",),
}
_SPELLING = {s: canon for canon, spellings in _VALUE_FLAGS.items() for s in spellings}
# Flags whose meaning is already how Kubernetes runs a Deployment: accepted with a note.
_HARMLESS = {"-d": "detached: Deployments always run in the background", "--detach": "same as -d",
             "--rm": "pods are removed by Kubernetes", "-it": "no terminal in a Deployment",
             "-i": "no stdin in a Deployment", "-t": "no terminal in a Deployment"}
_PORT = re.compile(
    r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|\d+\.\d+\.\d+\.\d+):)?"  # optional host IP
    r"(?:(?P<host>\d+(?:-\d+)?):)?(?P<ctr>\d+)(?:/(?P<proto>tcp|udp|sctp))?$"
)


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int | None
    protocol: str  # TCP, UDP or SCTP
    host_ip: str | None = None  # -p 127.0.0.1:8443:8443 publishes on that address only

    @property
    def host_bound(self) -> bool:
        """Published on one host address only (not 0.0.0.0 / ::): meant for the host, not the network."""
        return self.host_ip is not None and self.host_ip.strip("[]") not in ("0.0.0.0", "::")

    @property
    def name(self) -> str:
        """One port name per port and protocol (IANA service name, at most 15 characters)."""
        suffix = "" if self.protocol == "TCP" else f"-{self.protocol.lower()}"
        return f"p{self.container_port}{suffix}"


@dataclass(frozen=True)
class VolumeMount:
    source: str  # named volume ("ollama_data") or host path ("~/.n8n", "/srv/x")
    target: str  # path in the container
    read_only: bool

    @property
    def is_named(self) -> bool:
        """A docker named volume (no path separator): it becomes a PersistentVolumeClaim."""
        return "/" not in self.source and not self.source.startswith((".", "~"))

    def claim_suffix(self) -> str:
        """Part of the PVC name: the volume name, or the container path for a bind mount."""
        return to_dns1123(self.source if self.is_named else self.target, 40)


@dataclass
class DockerArgs:
    ports: list[PortMapping] = field(default_factory=list)
    volumes: list[VolumeMount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    name: str | None = None
    restart: str | None = None
    notes: list[str] = field(default_factory=list)  # accepted flags with no Kubernetes effect
    unsupported: list[str] = field(default_factory=list)  # flags reported to the user


class DockerArgsError(ValueError):
    def __init__(self, index: int, message: str) -> None:
        self.index = index
        super().__init__(message)


def parse_docker_args(args: list[str]) -> DockerArgs:
    """Parse ``docker run`` arguments. Raises DockerArgsError(index, message) on malformed input."""
    out = DockerArgs()
    i = 0
    while i < len(args):
        arg = args[i]
        if not isinstance(arg, str):
            raise DockerArgsError(i, f"expected a string, got {type(arg).__name__}")
        flag, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if flag in _SPELLING:
            canon = _SPELLING[flag]
            if eq:
                value, consumed = inline, 1
            elif i + 1 < len(args) and isinstance(args[i + 1], str):
                value, consumed = args[i + 1], 2
            else:
                raise DockerArgsError(i, f"{flag} needs a value")
            _apply(out, canon, flag, value, i)
            i += consumed
            continue
        # short flag with value glued on: -p8080:80, -eFOO=bar
        if len(arg) > 2 and arg[:2] in ("-p", "-v", "-e") and arg[1] != "-":
            _apply(out, _SPELLING[arg[:2]], arg[:2], arg[2:], i)
            i += 1
            continue
        if arg in _HARMLESS:
            out.notes.append(f"{arg}: {_HARMLESS[arg]}")
        elif arg.startswith("-"):
            # an unknown flag; its value (if any) is the next non-flag token
            taken = arg
            if not eq and i + 1 < len(args) and isinstance(args[i + 1], str) and not args[i + 1].startswith("-"):
                taken = f"{arg} {args[i + 1]}"
                i += 1
            out.unsupported.append(taken)
        else:
            out.unsupported.append(arg)
        i += 1
    return out


def _apply(out: DockerArgs, canon: str, flag: str, value: str, index: int) -> None:
    if canon == "publish":
        m = _PORT.match(value.strip())
        if not m:
            raise DockerArgsError(index, f"{flag} {value!r}: expected [HOST_IP:][HOST:]CONTAINER[/tcp|udp]")
        ctr = int(m.group("ctr"))
        if not 0 < ctr < 65536:
            raise DockerArgsError(index, f"{flag} {value!r}: container port must be 1-65535")
        host = m.group("host")
        out.ports.append(
            PortMapping(ctr, int(host) if host and host.isdigit() else None, (m.group("proto") or "tcp").upper(),
                        m.group("ip"))
        )
    elif canon == "volume":
        parts = value.split(":")
        if len(parts) < 2 or not parts[0] or not parts[1].startswith("/"):
            raise DockerArgsError(index, f"{flag} {value!r}: expected SOURCE:/container/path[:ro]")
        opts = parts[2].split(",") if len(parts) > 2 else []
        out.volumes.append(VolumeMount(parts[0], parts[1], "ro" in opts))
    elif canon == "env":
        key, sep, val = value.partition("=")
        if not key or not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", key):
            raise DockerArgsError(index, f"{flag} {value!r}: expected NAME=VALUE")
        out.env[key] = val if sep else f"${{{key}}}"
    elif canon == "name":
        out.name = value
    elif canon == "restart":
        if value.split(":")[0] not in ("no", "always", "unless-stopped", "on-failure"):
            raise DockerArgsError(index, f"--restart {value!r}: expected no, always, unless-stopped or on-failure")
        out.restart = value
