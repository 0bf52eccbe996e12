"""The ``b00t`` Pulumi package: B00tCluster and B00tStack served by Pulumi's component provider for
Python, so YAML, TypeScript (and any) Pulumi programs can use them (``provider/`` is the plugin).

The schema is inferred from the components' typed args and annotated outputs (``args.py``); type
tokens are ``b00t:index:<Name>``. Bad input is reported as input-property errors naming the file,
key path and what is wrong, never as the provider's traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import pulumi
from pulumi.errors import InputPropertiesError, InputPropertyErrorDetails
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.provider import ConstructResult
from pulumi.provider.server import ComponentInitError

from b00t_pulumi import __version__
from b00t_pulumi.errors import B00tError

PACKAGE = "b00t"


def components() -> list[type[pulumi.ComponentResource]]:
    from b00t_pulumi.deploy.cluster import B00tCluster
    from b00t_pulumi.deploy.components import B00tStack

    return [B00tCluster, B00tStack]


class B00tProvider(ComponentProvider):
    """Pulumi's ComponentProvider, with b00t-pulumi's errors as input-property errors."""

    def __init__(self) -> None:
        super().__init__(components(), PACKAGE, None, __version__)

    def construct(self, name: str, resource_type: str, inputs: pulumi.Inputs,
                  options: pulumi.ResourceOptions | None = None) -> ConstructResult:
        try:
            return super().construct(name, resource_type, inputs, options)
        except ComponentInitError as exc:
            if isinstance(exc.inner, B00tError):
                errors: list[InputPropertyErrorDetails] = [
                    {"property_path": ": ".join(x for x in (p.file, p.key_path) if x) or "args",
                     "reason": p.message} for p in exc.inner.problems]
                raise InputPropertiesError(f"b00t-pulumi: invalid input to {resource_type} {name!r}",
                                           errors) from None
            raise


def schema() -> dict[str, Any]:
    import json

    data: dict[str, Any] = json.loads(B00tProvider().schema or "{}")
    return data


def serve(args: list[str] | None = None) -> None:
    """Run the provider plugin (the engine starts ``provider/__main__.py`` with its address)."""
    from pulumi.provider import main

    main(B00tProvider(), sys.argv[1:] if args is None else args)
