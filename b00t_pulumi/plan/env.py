"""Environment values of containers: expansion (b00t_pulumi.expand) and secrets.

Values are expanded at plan time from the deployer's environment, as upstream b00t does on the
host. Values whose name says they are secret (PASSWORD, TOKEN, SECRET, KEY, CREDENTIALS, WEBHOOK)
or that are webhook URLs go to a Kubernetes Secret and reach the container by ``secretKeyRef``:
never as a plain env value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from b00t_pulumi.expand import Expanded, expand, variables

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


def is_secret_name(name: str) -> bool:
    words = set(re.split(r"[^A-Za-z0-9]+", name.upper()))
    return bool(words & _SECRET_WORDS) or any(w.endswith(("PASSWORD", "TOKEN", "SECRET", "APIKEY")) for w in words)


def is_webhook_url(value: str) -> bool:
    return bool(re.match(r"^https?://", value)) and "/webhook" in value


# A password inside a URL (scheme://user:pass@host) or a DSN (password=..., pwd=...).
_URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@:\s]*:[^/@\s]+@")
_DSN_PASSWORD = re.compile(r"(?i)(?:^|[\s;&?])(?:password|passwd|pwd)=[^\s;&]+")


def has_password(value: str) -> bool:
    """True for ``postgres://user:pass@host/db`` or ``host=db password=x``: a secret inside a value."""
    return bool(_URL_PASSWORD.search(value) or _DSN_PASSWORD.search(value))


def is_secret(name: str, template: str, value: str | None = None) -> bool:
    """Secret by its name, by being a webhook URL, or by carrying a password (in the datum's text or in
    the value it expands to)."""
    return (is_secret_name(name) or is_webhook_url(template) or has_password(template)
            or (value is not None and (is_webhook_url(value) or has_password(value))))


__all__ = ["Expanded", "SecretValue", "expand", "has_password", "is_secret", "is_secret_name", "is_webhook_url",
           "variables"]
