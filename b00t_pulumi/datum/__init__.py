"""Datums: b00t TOML files, their models, loading and the catalog that resolves references."""

from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.loader import LoadResult, datum_files, default_search_path, load_file
from b00t_pulumi.datum.models import (
    AiModelDatum,
    CliDatum,
    Datum,
    DockerDatum,
    JobDatum,
    K8sDatum,
    OtherDatum,
    StackDatum,
)
from b00t_pulumi.datum.orchestration import (
    BudgetConstraint,
    GpuEpoch,
    GpuRequirements,
    K8sSettings,
    Orchestration,
    ResourceRequirements,
)

__all__ = [
    "AiModelDatum",
    "BudgetConstraint",
    "Catalog",
    "CliDatum",
    "Datum",
    "DockerDatum",
    "GpuEpoch",
    "GpuRequirements",
    "JobDatum",
    "K8sDatum",
    "K8sSettings",
    "LoadResult",
    "Orchestration",
    "OtherDatum",
    "ResourceRequirements",
    "StackDatum",
    "datum_files",
    "default_search_path",
    "load_file",
]
