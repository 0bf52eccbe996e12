"""b00t-pulumi: b00t stack and job datums to Kubernetes objects on k0s.

The pure core (``datum``, ``plan``, ``epoch``, ``budget``, ``settings``) never imports pulumi.
The Pulumi faces (``deploy`` ComponentResources, ``gates`` dynamic providers) are loaded lazily
on first attribute access, so ``import b00t_pulumi`` stays fast for the CLI.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> module that defines it; imported on first access (PEP 562).
_LAZY: dict[str, str] = {
    "B00tCluster": "b00t_pulumi.deploy.cluster",
    "B00tStack": "b00t_pulumi.deploy.components",
    "B00tJob": "b00t_pulumi.deploy.components",
    "KueueQueues": "b00t_pulumi.deploy.components",
    "GpuTimeSlicing": "b00t_pulumi.deploy.components",
    "BudgetConstraint": "b00t_pulumi.deploy.components",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'b00t_pulumi' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
