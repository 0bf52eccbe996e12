"""Validated scalar formats used in datums: Kubernetes quantities, durations, DNS-1123 names."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Kubernetes resource.Quantity: <signed-number><suffix>, suffix binary (Ki..Ei), decimal (n,u,m,k,M,G,T,P,E)
# or an exponent (e3). See k8s.io/apimachinery/pkg/api/resource/quantity.go.
_QUANTITY = re.compile(r"^(?P<num>[+-]?(?:\d+\.?\d*|\.\d+))(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

QUANTITY_HELP = 'a Kubernetes quantity such as "500m", "2", "16Gi" or "512Mi"'
DURATION_HELP = 'a duration such as "90s", "15m", "1h30m" or "2h"'
DNS1123_HELP = "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"


def parse_quantity(text: str | int | float) -> Decimal:
    """The value of a Kubernetes quantity in base units (cores or bytes). Raises ValueError."""
    if isinstance(text, bool):
        raise ValueError(f"expected {QUANTITY_HELP}, got a boolean")
    if isinstance(text, int | float):
        if text < 0:
            raise ValueError(f"expected {QUANTITY_HELP}, got a negative number {text}")
        return Decimal(str(text))
    m = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"expected {QUANTITY_HELP}, got {text!r}")
    num = Decimal(m.group("num"))
    if num < 0:
        raise ValueError(f"expected {QUANTITY_HELP}, got a negative quantity {text!r}")
    suffix = m.group("suffix") or ""
    if suffix in _BINARY:
        return num * _BINARY[suffix]
    if suffix in _DECIMAL:
        return num * _DECIMAL[suffix]
    try:  # exponent form, e.g. 1e3
        return num * (Decimal(10) ** int(suffix[1:]))
    except (InvalidOperation, ValueError) as exc:  # pragma: no cover - regex guarantees digits
        raise ValueError(f"expected {QUANTITY_HELP}, got {text!r}") from exc


def normalize_quantity(text: str | int | float) -> str:
    """Validate a quantity and return it as the string Kubernetes expects ("4", "16Gi")."""
    parse_quantity(text)
    if isinstance(text, float):
        return format(Decimal(str(text)).normalize(), "f")
    return str(text).strip()


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")


def parse_duration(text: str | int) -> int:
    """Seconds in a duration like "15m", "1h30m", "45s", "2h" (a bare integer is seconds)."""
    if isinstance(text, bool):
        raise ValueError(f"expected {DURATION_HELP}, got a boolean")
    if isinstance(text, int):
        if text <= 0:
            raise ValueError(f"expected {DURATION_HELP} greater than zero, got {text}")
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected {DURATION_HELP}, got {type(text).__name__}")
    s = text.strip()
    if s.isdigit():
        return parse_duration(int(s))
    pos = 0
    total = Decimal(0)
    seen: list[str] = []
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        unit = m.group(2)
        if unit in seen or (seen and "hms".index(unit) < "hms".index(seen[-1])):
            raise ValueError(f"expected {DURATION_HELP}, got {text!r} (units out of order or repeated)")
        seen.append(unit)
        total += Decimal(m.group(1)) * {"h": 3600, "m": 60, "s": 1}[unit]
        pos = m.end()
    if pos != len(s) or not seen:
        raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
    if total <= 0:
        raise ValueError(f"expected {DURATION_HELP} greater than zero, got {text!r}")
    return int(total)


def format_duration(seconds: int) -> str:
    """The shortest "1h30m" form of a number of seconds."""
    h, rem = divmod(int(seconds), 3600)
    m, s = divmod(rem, 60)
    out = (f"{h}h" if h else "") + (f"{m}m" if m else "") + (f"{s}s" if s else "")
    return out or "0s"


_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_dns1123(name: str, max_len: int = 63) -> str:
    """Return name if it is a DNS-1123 label, else raise ValueError saying what is allowed."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"expected a name of {DNS1123_HELP}, got {name!r}")
    if len(name) > max_len or not _DNS1123_LABEL.match(name):
        raise ValueError(f"{name!r} is not a valid Kubernetes name: use {DNS1123_HELP}")
    return name


def to_dns1123(text: str, max_len: int = 63) -> str:
    """A best-effort DNS-1123 label derived from arbitrary text (for generated names)."""
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    s = re.sub(r"-{2,}", "-", s)
    return s[:max_len].rstrip("-") or "x"
