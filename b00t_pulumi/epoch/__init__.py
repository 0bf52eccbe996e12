"""The GPU epoch scheduler: load a model once per GPU and run every job of its group in that stay.

Pure Python (never imports pulumi). See docs/scheduler.md for the model, algorithm and numbers.
"""

from b00t_pulumi.epoch.baselines import fifo_cold, fifo_warm
from b00t_pulumi.epoch.bounds import lower_bound_loads, makespan_lower_bound, windowed_lower_bound_loads
from b00t_pulumi.epoch.check import check_plan, check_stability
from b00t_pulumi.epoch.metrics import Metrics, evaluate, percentile
from b00t_pulumi.epoch.model import (
    Assignment,
    Deferred,
    Epoch,
    Gpu,
    GroupSettings,
    Job,
    Placement,
    Plan,
    uniform_inventory,
)
from b00t_pulumi.epoch.scheduler import schedule
from b00t_pulumi.epoch.trace import parse_trace, read_trace, write_trace

__all__ = [
    "Assignment",
    "Deferred",
    "Epoch",
    "Gpu",
    "GroupSettings",
    "Job",
    "Metrics",
    "Placement",
    "Plan",
    "check_plan",
    "check_stability",
    "evaluate",
    "fifo_cold",
    "fifo_warm",
    "lower_bound_loads",
    "makespan_lower_bound",
    "parse_trace",
    "percentile",
    "read_trace",
    "schedule",
    "uniform_inventory",
    "windowed_lower_bound_loads",
    "write_trace",
]
