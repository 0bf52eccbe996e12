"""The planner: datums + environment settings -> Kubernetes object dicts (pure; no pulumi)."""

from b00t_pulumi.plan.env import SecretValue
from b00t_pulumi.plan.model import ClusterPlan, JobPlan, StackPlan
from b00t_pulumi.plan.needs import GpuNeed
from b00t_pulumi.plan.network import Endpoint
from b00t_pulumi.plan.objects import K8sObject, key, ref, sort_for_apply
from b00t_pulumi.plan.planner import Planner

__all__ = [
    "ClusterPlan",
    "Endpoint",
    "GpuNeed",
    "JobPlan",
    "K8sObject",
    "Planner",
    "SecretValue",
    "StackPlan",
    "key",
    "ref",
    "sort_for_apply",
]
