"""The Pulumi program of this project (``__main__.py`` calls ``main``): one ``B00tCluster``.

Everything (config -> settings, datums -> planner -> components and gates) happens in the
component, so this program and a YAML or TypeScript program using the ``b00t`` package deploy the
same thing. The exports are the component's outputs.
"""

from __future__ import annotations

import pulumi

from b00t_pulumi.errors import B00tError


def main() -> None:
    from b00t_pulumi.deploy.cluster import B00tCluster

    try:
        cluster = B00tCluster("b00t", {})
    except B00tError as exc:
        # A clear message, not a traceback: file, key path, what is wrong.
        raise pulumi.RunError(f"b00t-pulumi: invalid input\n{exc}") from None
    pulumi.export("stacks", cluster.stacks)
    pulumi.export("jobs", cluster.jobs)
    if cluster.cluster_queue is not None:
        pulumi.export("clusterQueue", cluster.cluster_queue)
    if cluster.epochs is not None:
        pulumi.export("epochs", cluster.epochs)
