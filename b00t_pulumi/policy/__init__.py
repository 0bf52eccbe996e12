"""Policy rules of the ``b00t-budget`` CrossGuard pack, as pure functions (no pulumi import).

``policy/__main__.py`` wraps them in pulumi_policy; tests call them directly.
"""

from b00t_pulumi.policy.rules import (
    POLICIES,
    Resource,
    Violation,
    budget_within_daily_limit,
    gpu_jobs_use_kueue,
    gpu_limits_required,
    no_latest_images,
    no_plaintext_secrets,
    time_slicing_covers_concurrency,
)

__all__ = [
    "POLICIES",
    "Resource",
    "Violation",
    "budget_within_daily_limit",
    "gpu_jobs_use_kueue",
    "gpu_limits_required",
    "no_latest_images",
    "no_plaintext_secrets",
    "time_slicing_covers_concurrency",
]
