"""Environment settings: what differs between dev and prod (namespace, prices, GPUs, Kueue quotas).

One model serves both faces: the CLI reads ``Pulumi.<env>.yaml`` with ``--env``; the Pulumi program
reads the same keys from ``pulumi.Config("b00t")``. Keys are camelCase as in Pulumi config.
"""

from b00t_pulumi.settings.model import (
    EnvironmentSettings,
    GpuInventory,
    GpuNode,
    KueueSettings,
    OperatorSettings,
    Prices,
    TimeSlicingSettings,
)
from b00t_pulumi.settings.source import load_environment, settings_from_config

__all__ = [
    "EnvironmentSettings",
    "GpuInventory",
    "GpuNode",
    "KueueSettings",
    "OperatorSettings",
    "Prices",
    "TimeSlicingSettings",
    "load_environment",
    "settings_from_config",
]
