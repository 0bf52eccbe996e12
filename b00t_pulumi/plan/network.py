"""Services of stack members, the endpoints jobs call, and the waits for them.

- A Service per member that publishes ports (``-p``), one port name per port and protocol; ports bound
  to one host address (``-p 127.0.0.1:8443:8443``) are for the host, not the network: not in the Service.
- Endpoint URLs get a scheme only where the port says which (``redis://``, ``postgres://``,
  ``http://`` for HTTP ports); otherwise ``host:port``.
- Waits: an init container that polls the TCP ports with ``nc -z``. UDP-only Services cannot be
  probed that way: nothing waits for them (a note says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from b00t_pulumi.datum.docker_args import PortMapping
from b00t_pulumi.plan.objects import K8sObject, meta

WAIT_IMAGE = "busybox:1.36"

# Well-known ports whose protocol (and so URL scheme) is not in doubt.
SCHEMES: dict[int, str] = {
    6379: "redis", 5432: "postgres", 3306: "mysql", 27017: "mongodb", 5672: "amqp", 4222: "nats",
    9092: "kafka", 11211: "memcached",
    80: "http", 443: "https", 8000: "http", 8080: "http", 8081: "http", 8443: "https", 8888: "http",
    3000: "http", 5678: "http", 9000: "http", 9090: "http", 11434: "http", 6333: "http", 7860: "http",
}


@dataclass(frozen=True)
class Port:
    number: int
    protocol: str  # TCP, UDP, SCTP
    name: str


@dataclass(frozen=True)
class Endpoint:
    """A Service of a stack member that jobs and other members can wait for and call."""

    member: str  # member datum name, also the Service name
    namespace: str
    ports: tuple[Port, ...]

    @property
    def host(self) -> str:
        return f"{self.member}.{self.namespace}.svc.cluster.local"

    @property
    def tcp_ports(self) -> tuple[int, ...]:
        return tuple(p.number for p in self.ports if p.protocol == "TCP")

    @property
    def url(self) -> str:
        tcp = self.tcp_ports
        port = tcp[0] if tcp else self.ports[0].number
        scheme = SCHEMES.get(port)
        return f"{scheme}://{self.host}:{port}" if scheme else f"{self.host}:{port}"

    @property
    def env_name(self) -> str:
        return f"B00T_{self.member.upper().replace('-', '_').replace('.', '_')}_URL"


def service_ports(ports: list[PortMapping]) -> tuple[list[Port], list[PortMapping]]:
    """(the ports a Service exposes, the host-bound ports it leaves out), each port and protocol once."""
    seen: set[tuple[int, str]] = set()
    exposed: list[Port] = []
    host_bound: list[PortMapping] = []
    for p in ports:
        if (p.container_port, p.protocol) in seen:
            continue
        seen.add((p.container_port, p.protocol))
        if p.host_bound:
            host_bound.append(p)
        else:
            exposed.append(Port(p.container_port, p.protocol, p.name))
    return exposed, host_bound


def container_ports(ports: list[PortMapping]) -> list[dict[str, Any]]:
    seen: set[tuple[int, str]] = set()
    out = []
    for p in ports:
        if (p.container_port, p.protocol) not in seen:
            seen.add((p.container_port, p.protocol))
            out.append({"name": p.name, "containerPort": p.container_port, "protocol": p.protocol})
    return out


def service(name: str, namespace: str, labels: dict[str, str], selector: dict[str, str],
            ports: list[Port]) -> K8sObject:
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, namespace, labels=labels),
            "spec": {"selector": selector, "ports": [
                {"name": p.name, "port": p.number, "targetPort": p.number, "protocol": p.protocol} for p in ports]}}


def wait_container(ep: Endpoint, what: str) -> dict[str, Any] | None:
    """An init container that waits until every TCP port of ``ep`` accepts connections; None when the
    endpoint has no TCP port (UDP cannot be probed with nc -z)."""
    if not ep.tcp_ports:
        return None
    checks = " && ".join(f"nc -z {ep.host} {p}" for p in ep.tcp_ports)
    return {
        "name": f"wait-for-{ep.member}"[:63].rstrip("-"),
        "image": WAIT_IMAGE,
        "command": ["sh", "-c", f"until {checks}; do echo 'waiting for {ep.member} ({what})'; sleep 2; done; "
                                f"echo '{ep.member} is ready'"],
    }
