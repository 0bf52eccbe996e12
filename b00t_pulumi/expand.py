"""``${VAR}``, ``${VAR:-default}`` and ``${VAR-default}`` expansion: the one expander of every string a
datum gives to an object (env values, image, command, args) and of the alert webhook at send time.

As in the shell: ``${VAR:-default}`` uses the default when VAR is unset or empty, ``${VAR-default}``
only when it is unset; ``$${`` stays a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_REF = re.compile(r"\$(?P<escaped>\$)?\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}")


@dataclass(frozen=True)
class Expanded:
    value: str
    missing: tuple[str, ...]  # variables with no value and no default


def expand(template: str, environ: Mapping[str, str]) -> Expanded:
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return m.group(0)[1:]
        name, op, default = m.group("name"), m.group("op"), m.group("default")
        value = environ.get(name)
        if value is not None and (value != "" or op != ":-"):
            return value
        if op is not None:
            return default or ""
        missing.append(name)
        return ""

    return Expanded(_REF.sub(sub, template), tuple(missing))


def variables(template: str) -> tuple[str, ...]:
    """The variables ``template`` refers to, in order (escaped ``$${`` not included)."""
    return tuple(m.group("name") for m in _REF.finditer(template) if not m.group("escaped"))
