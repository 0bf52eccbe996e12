"""Environment values of containers: ``${VAR}`` / ``${VAR:-default}`` expansion and secrets.

Values are expanded at plan time from the deployer's environment, as upstream b00t does on the
host. Values whose name says they are secret (PASSWORD, TOKEN, SECRET, KEY, CREDENTIALS, WEBHOOK)
or that are webhook URLs go to a Kubernetes Secret and reach the container by ``secretKeyRef``:
never as a plain env value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")
_SECRET_WORDS = {"PASSWORD", "PASSWD", "PASS", "TOKEN", "SECRET", "KEY", "APIKEY", "CREDENTIALS", "WEBHOOK", "DSN"}


@dataclass(frozen=True)
class SecretValue:
    """A secret env value: ``value`` is resolved; ``template`` is what the datum wrote.

    ``str()`` and ``repr()`` never show the value: only faces that create a Kubernetes Secret
    (as a Pulumi secret, or with ``--show-secrets``) read ``.value``.
    """

    value: str
    template: str
    resolved: bool

    def __str__(self) -> str:
        return "<secret>"

    def __repr__(self) -> str:
        return f"SecretValue(template={self.template!r})"


@dataclass(frozen=True)
class Expanded:
    value: str
    missing: tuple[str, ...]  # variables with no value and no default


def expand(template: str, environ: Mapping[str, str]) -> Expanded:
    """Expand ``${VAR}`` and ``${VAR:-default}`` (``$${`` stays literal)."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name, default = m.group("name"), m.group("default")
        if name in environ and environ[name] != "":
            return environ[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    return Expanded(_REF.sub(sub, template), tuple(missing))


def is_secret_name(name: str) -> bool:
    words = set(re.split(r"[^A-Za-z0-9]+", name.upper()))
    return bool(words & _SECRET_WORDS) or any(w.endswith(("PASSWORD", "TOKEN", "SECRET", "APIKEY")) for w in words)


def is_webhook_url(value: str) -> bool:
    return bool(re.match(r"^https?://", value)) and "/webhook" in value


def is_secret(name: str, template: str) -> bool:
    return is_secret_name(name) or is_webhook_url(template)
