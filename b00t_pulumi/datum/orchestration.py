"""``[b00t.orchestration]``: scheduling, GPU, epoch, budget and Kubernetes settings of a datum.

Every key here is either used by the planner, or is one that upstream datums carry without effect
(``NO_EFFECT_KEYS``: accepted with a warning that says so), or is an error.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from b00t_pulumi.datum.quantities import check_dns1123, normalize_quantity, parse_duration

SCHEDULE_TYPES = ("gpu_affinity", "budget_aware", "time_based", "resource_based", "queue_based")
ON_BUDGET_EXCEEDED = ("defer", "alert", "fail")


def _money(value: Any) -> Decimal:
    """Money from TOML: a number or a numeric string, never a float artefact, never negative."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"expected an amount of money such as 100.00, got {type(value).__name__}")
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ValueError(f"expected an amount of money such as 100.00, got {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"expected a finite amount of money, got {value!r}")
    if amount < 0:
        raise ValueError(f"an amount of money cannot be negative, got {value!r}")
    return amount


# json_schema_input_type: what a datum may write, for `b00t-pulumi schema` (editors, taplo).
Money = Annotated[Decimal, BeforeValidator(_money, json_schema_input_type=float | str)]


def _quantity(value: Any) -> str:
    return normalize_quantity(value)


Quantity = Annotated[str, BeforeValidator(_quantity, json_schema_input_type=str | int | float)]


def _duration(value: Any) -> int:
    return parse_duration(value)


DurationSeconds = Annotated[int, BeforeValidator(_duration, json_schema_input_type=int | str)]


def _currency(value: Any) -> str:
    if not (isinstance(value, str) and len(value) == 3 and value.isalpha() and value.isupper()):
        raise ValueError(f"expected a 3-letter ISO 4217 currency code such as USD, got {value!r}")
    return value


Currency = Annotated[str, BeforeValidator(_currency)]


def _label_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return check_dns1123(value)


LabelName = Annotated[str, BeforeValidator(_label_value)]


def _warn(info: ValidationInfo, key: str, message: str) -> None:
    ctx = info.context if isinstance(info.context, dict) else None
    if ctx is not None:
        ctx.setdefault("warnings", []).append((key, message))


def _strip_no_effect(data: Any, info: ValidationInfo, no_effect: dict[str, str], where: str) -> Any:
    if not isinstance(data, dict):
        return data
    out = dict(data)
    for key, hint in no_effect.items():
        if key in out:
            del out[key]
            _warn(info, f"{where}.{key}" if where else key, f"has no effect in b00t-pulumi ({hint})")
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def gpu_name(v: str) -> str:
    """A b00t GPU name (nvidia-a100): lower case, no spaces."""
    if not v or v != v.strip().lower() or " " in v:
        raise ValueError(f"expected a lower-case b00t GPU name such as nvidia-a100, got {v!r}")
    return v


GpuName = Annotated[str, AfterValidator(gpu_name)]


class GpuRequirements(_Strict):
    """``gpu_requirements``: how many GPUs of which model, and whether they may be time-sliced."""

    count: int = Field(default=1, ge=0, le=64, description="GPUs per pod: resources.limits nvidia.com/gpu")
    memory: Quantity | None = Field(default=None, description="GPU memory needed; documents the choice of GPU")
    gpu_type: str | None = Field(
        default=None,
        validation_alias=AliasChoices("gpu_type", "type"),
        description="b00t GPU name such as nvidia-a100 (upstream key gpu_type; the seeds write type)",
    )
    shared: bool = Field(
        default=False,
        validation_alias=AliasChoices("shared", "gpu_sharing", "time_slicing"),
        description="may share a GPU through NVIDIA time-slicing (gpu_sharing and time_slicing are aliases)",
    )

    @model_validator(mode="before")
    @classmethod
    def _one_spelling(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "gpu_type" in data and "type" in data and data["gpu_type"] != data["type"]:
                raise ValueError("both gpu_type and type are set and differ: keep one (gpu_type is upstream's)")
            shared = [k for k in ("shared", "gpu_sharing", "time_slicing") if k in data]
            if len({bool(data[k]) for k in shared}) > 1:
                raise ValueError(f"{', '.join(shared)} disagree: they all mean the GPU may be time-sliced")
            data = dict(data)
            for k in shared[1:]:
                del data[k]
            if "gpu_type" in data and "type" in data:
                del data["type"]
        return data

    @field_validator("gpu_type")
    @classmethod
    def _gpu_name(cls, v: str | None) -> str | None:
        return None if v is None else gpu_name(v)


class GpuEpoch(_Strict):
    """``gpu_epoch``: keep one model loaded on a GPU for a window and run its jobs together."""

    model_id: str = Field(description="the model every job of the epoch uses (label b00t.io/model-id)")
    batch_window: DurationSeconds = Field(default=900, description='how long a model stays loaded, e.g. "15m"')
    max_concurrent_jobs: int = Field(default=1, ge=1, le=64, description="jobs sharing one GPU at once")
    load_time: DurationSeconds = Field(default=45, description='time to load the model onto a GPU, e.g. "45s"')
    load_time_by_type: dict[GpuName, DurationSeconds] = Field(
        default_factory=dict,
        description='load time on some GPU types, by b00t GPU name, e.g. {nvidia-h100 = "20s"}; load_time elsewhere',
    )

    @field_validator("model_id")
    @classmethod
    def _model_id(cls, v: str) -> str:
        return check_dns1123(v)


class BudgetConstraint(_Strict):
    """``budget_constraint``: a daily money limit for the datum's jobs and deployments."""

    daily_limit: Money = Field(description="limit per window in currency units; must be greater than 0")
    currency: Currency | None = Field(default=None, description="ISO 4217 code; default budget_currency or USD")
    cost_per_job: Money | None = Field(default=None, description="estimated cost of one job run")
    alert_threshold: float | None = Field(
        default=None, gt=0, le=1, description="fraction of the limit that triggers an alert, e.g. 0.8"
    )
    n8n_webhook: str | None = Field(
        default=None,
        validation_alias=AliasChoices("n8n_webhook", "webhook_url"),
        description="alert webhook URL (a secret); ${ENV} is expanded at send time",
    )
    on_budget_exceeded: Literal["defer", "alert", "fail"] = "defer"
    reset_schedule: str = Field(default="0 0 * * *", description="cron expression of window starts")
    timezone: str = Field(default="UTC", description="IANA time zone of reset_schedule")

    @field_validator("daily_limit")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("daily_limit must be greater than 0")
        return v

    @field_validator("reset_schedule")
    @classmethod
    def _cron(cls, v: str) -> str:
        from croniter import croniter

        if not croniter.is_valid(v):
            raise ValueError(f'expected a cron expression such as "0 0 * * *", got {v!r}')
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            zoneinfo.ZoneInfo(v)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"expected an IANA time zone such as UTC or Australia/Sydney, got {v!r}") from exc
        return v

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict) and "n8n_webhook" in data and "webhook_url" in data:
            raise ValueError("both n8n_webhook and webhook_url are set: keep one")
        return data


class ResourceRequirements(_Strict):
    """``resource_requirements``: CPU and memory requests of each container."""

    cpu: Quantity | None = None
    memory: Quantity | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_effect(cls, data: Any, info: ValidationInfo) -> Any:
        return _strip_no_effect(
            data, info, {"gpu": "GPUs come from gpu_requirements"}, "b00t.orchestration.resource_requirements"
        )


class K8sSettings(_Strict):
    """``[b00t.orchestration.k8s]``: where and how the members run in Kubernetes."""

    namespace: str | None = None
    enable_auto_scaling: bool = False
    min_replicas: int = Field(default=1, ge=0, le=1000)
    max_replicas: int = Field(default=1, ge=1, le=1000)
    replicas: int | None = Field(default=None, ge=0, le=1000, description="fixed replicas without autoscaling")
    gpu_members: list[str] | None = Field(default=None, description="member ids that get the stack's GPUs")
    storage: Quantity | None = Field(default=None, description="size of each PVC made from a docker volume")
    storage_class: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_effect(cls, data: Any, info: ValidationInfo) -> Any:
        return _strip_no_effect(
            data,
            info,
            {"pod_template_source": "objects always come from the b00t-pulumi planner"},
            "b00t.orchestration.k8s",
        )

    @field_validator("namespace")
    @classmethod
    def _ns(cls, v: str | None) -> str | None:
        return None if v is None else check_dns1123(v)

    @model_validator(mode="after")
    def _bounds(self) -> K8sSettings:
        if self.min_replicas > self.max_replicas:
            raise ValueError(f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})")
        return self


# Keys upstream datums carry inside [b00t.orchestration] that change nothing here.
NO_EFFECT_KEYS: dict[str, str] = {
    "k8s_compatible": "every datum is planned for Kubernetes",
    "pod_template_source": "objects always come from the b00t-pulumi planner",
    "budget_tracking": "budgets are tracked whenever budget_constraint is set",
    "gpu_enabled": "GPUs come from gpu_requirements",
    "requires_gpu": "GPUs come from gpu_requirements",
    "gitops_enabled": "GitOps is outside b00t-pulumi",
    "cost_tracking_enabled": "costs are tracked whenever budget_constraint is set",
    "daily_budget_alerts": "alerts follow budget_constraint.alert_threshold",
    "budget_metrics_enabled": "no metrics exporter is deployed",
    "webhook_alerts": "alerts go to budget_constraint.n8n_webhook",
    "default_budget": "set budget_constraint.daily_limit",
    "reconcile_interval": "Pulumi reconciles on each update",
    "watch_paths": "nothing watches files",
    "description": "documentation only",
    "dependencies": "use depends_on and requires_stacks",
    "hive_profile": "b00t hive is not used in Kubernetes",
    "ipc": "b00t IPC is not used in Kubernetes",
    "sm0l_model": "b00t sm0l models are not deployed",
    "volumes": "volumes come from docker_args -v",
}


class Orchestration(_Strict):
    """``[b00t.orchestration]`` of a stack, job or docker datum."""

    schedule_type: str | None = Field(default=None, description=f"one of {', '.join(SCHEDULE_TYPES)}")
    gpu_batch_group: LabelName | None = None
    gpu_requirements: GpuRequirements | None = None
    gpu_epoch: GpuEpoch | None = None
    budget_constraint: BudgetConstraint | None = None
    budget_currency: Currency | None = None
    resource_requirements: ResourceRequirements | None = None
    requires_stacks: list[str] = Field(default_factory=list)
    queue_name: LabelName | None = None
    estimated_duration: DurationSeconds | None = Field(
        default=None, description='how long one job run takes, e.g. "30m" (cost and epoch planning)'
    )
    k8s: K8sSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_effect(cls, data: Any, info: ValidationInfo) -> Any:
        data = _strip_no_effect(data, info, NO_EFFECT_KEYS, "b00t.orchestration")
        if isinstance(data, dict) and isinstance(data.get("schedule_type"), str):
            st = data["schedule_type"]
            if st not in SCHEDULE_TYPES:
                import difflib

                close = difflib.get_close_matches(st, SCHEDULE_TYPES, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                _warn(
                    info,
                    "b00t.orchestration.schedule_type",
                    f"{st!r} is not a schedule type b00t-pulumi knows{hint}; it has no effect. "
                    f"Known: {', '.join(SCHEDULE_TYPES)}",
                )
        return data

    @property
    def currency(self) -> str:
        """The budget currency: budget_constraint.currency, else budget_currency, else USD."""
        if self.budget_constraint and self.budget_constraint.currency:
            return self.budget_constraint.currency
        return self.budget_currency or "USD"

    @property
    def schedule(self) -> str | None:
        """schedule_type when it is one b00t-pulumi knows."""
        return self.schedule_type if self.schedule_type in SCHEDULE_TYPES else None
