"""Pulumi faces of b00t-pulumi: ComponentResources and the program. Imports pulumi."""

from b00t_pulumi.deploy.cluster import B00tCluster
from b00t_pulumi.deploy.components import B00tJob, B00tStack, BudgetConstraint, GpuTimeSlicing, KueueQueues

__all__ = ["B00tCluster", "B00tJob", "B00tStack", "BudgetConstraint", "GpuTimeSlicing", "KueueQueues"]
