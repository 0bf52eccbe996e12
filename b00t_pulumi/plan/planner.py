"""The planner: datums + environment settings -> Kubernetes object dicts with stable names.

Pure: no pulumi, no network. The CLI prints these objects; the Pulumi components create them. The
decisions live here (members, GPU needs, namespaces, waits, what a key means where it stands); the
objects come from one builder per kind (workloads, network, storage, kueue, gpu, crds) and the
labels every object of a stack carries from ``labels``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from b00t_pulumi.budget import cost as budget_cost
from b00t_pulumi.budget import items as budget_items
from b00t_pulumi.budget.money import Money
from b00t_pulumi.budget.prices import PriceList, PricingError, price_list
from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import AiModelDatum, CliDatum, Datum, DockerDatum, JobDatum, K8sDatum, StackDatum
from b00t_pulumi.datum.orchestration import BudgetConstraint, Orchestration
from b00t_pulumi.datum.quantities import format_duration, to_dns1123
from b00t_pulumi.errors import PlanError, Problem, display_path
from b00t_pulumi.gpu.capacity import GPU_RESOURCE, GpuCapacity
from b00t_pulumi.plan import crds, gpu, kueue, labels, network, storage, workloads
from b00t_pulumi.plan.env import SecretValue, expand, is_secret
from b00t_pulumi.plan.model import ClusterPlan, JobPlan, StackPlan
from b00t_pulumi.plan.needs import GpuNeed, job_need, member_needs
from b00t_pulumi.plan.needs import required_stacks as _required_stacks
from b00t_pulumi.plan.network import Endpoint
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta, namespace_object, sort_for_apply
from b00t_pulumi.settings import EnvironmentSettings
from b00t_pulumi.simulation.durations import pod_annotations as simulated_run

DEFAULT_NAMESPACE = "default"
AFTER_JOBS = "b00t.io/after-jobs"
# Keys of [b00t.orchestration] that only stacks and jobs use: on a member datum they change nothing.
_MEMBER_NO_EFFECT = {
    "queue_name": "set queue_name on the stack",
    "budget_constraint": "put the budget on the stack",
    "budget_currency": "set budget_currency on the stack",
    "schedule_type": "set schedule_type on the stack",
    "requires_stacks": "a member runs as part of its stack",
    "estimated_duration": "only jobs have a duration",
    "k8s": "set [b00t.orchestration.k8s] on the stack",
}
_SCHEDULE_NEEDS = {
    "gpu_affinity": ("a GPU batch group", "gpu_batch_group or gpu_requirements"),
    "queue_based": ("a Kueue queue", "queue_name"),
    "budget_aware": ("a budget", "budget_constraint"),
}


def _where(d: Datum) -> str:
    return display_path(d.source) if d.source else d.id


class Planner:
    """Plans stacks, jobs and the cluster-wide objects (Kueue, time-slicing, CRDs)."""

    def __init__(self, catalog: Catalog, settings: EnvironmentSettings | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.settings = settings or EnvironmentSettings()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ

    @cached_property
    def capacity(self) -> GpuCapacity:
        """The environment's GPU capacity model (b00t_pulumi.gpu.capacity)."""
        return GpuCapacity.from_inventory(self.settings.gpu_inventory)

    # ------------------------------------------------------------------ decisions
    def namespace_for(self, d: StackDatum | JobDatum) -> str:
        """The environment's namespace wins; else the datum's; else a required stack's; else default."""
        if self.settings.namespace:
            return self.settings.namespace
        if d.orch.k8s and d.orch.k8s.namespace:
            return d.orch.k8s.namespace
        if isinstance(d, JobDatum):
            for st in self.required_stacks(d):
                return self.namespace_for(st)
        return DEFAULT_NAMESPACE

    def required_stacks(self, job: JobDatum) -> list[StackDatum]:
        return _required_stacks(self.catalog, job)

    def gpu_members(self, stack: StackDatum, dockers: list[DockerDatum]) -> dict[str, GpuNeed]:
        return member_needs(self.catalog, stack, dockers)

    def job_gpu_need(self, job: JobDatum) -> GpuNeed | None:
        return job_need(self.catalog, job)

    def check_need(self, need: GpuNeed, where: str) -> None:
        """What the GPU nodes of the environment cannot give ``need``: an error before anything is created."""
        req = need.requirements
        if req.shared and req.count > 1:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.count",
                                     f"a time-sliced GPU is requested one at a time (failRequestsGreaterThanOne): "
                                     f"count is {req.count}; use count = 1 or shared = false")])
        t = need.gpu_type
        if not t or not self.settings.gpu_inventory.nodes or not req.count:
            return
        classes = self.capacity.classes_of(t)
        if not classes:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.gpu_type",
                                     f"{t}: b00t:gpuInventory has no {t} node (it has "
                                     f"{', '.join(self.capacity.types()) or 'none'}): add one, or change gpu_type")])
        if not need.shared and all(c.shared for c in classes):
            listed = ", ".join(str(c.slots) for c in classes)
            raise PlanError([Problem(where, "b00t.orchestration.gpu_requirements.shared",
                                     f"every {t} node in b00t:gpuInventory is time-sliced (slots {listed}), so no pod "
                                     "gets a GPU of its own: set shared = true, or add a node with slots = 1")])
        slots = self.capacity.max_slots(t)
        if need.epoch and need.shared and need.epoch.max_concurrent_jobs > slots:
            raise PlanError([Problem(where, "b00t.orchestration.gpu_epoch.max_concurrent_jobs",
                                     f"{need.epoch.max_concurrent_jobs} jobs at once on one {t} GPU, but its "
                                     f"time-slicing gives {slots} slots (b00t:gpuInventory slots): at most {slots}, "
                                     "or raise slots")])

    def _member_warnings(self, stack: StackDatum, d: DockerDatum) -> list[Problem]:
        out: list[Problem] = []
        if d.orchestration is None:
            return out
        for key, hint in _MEMBER_NO_EFFECT.items():
            if key in d.orchestration.model_fields_set:
                out.append(Problem(_where(d), f"b00t.orchestration.{key}",
                                   f"has no effect on a member of stack {stack.name} ({hint}: {_where(stack)})",
                                   "warning"))
        return out

    def _schedule_warnings(self, d: StackDatum | JobDatum, has_gpu: bool) -> list[Problem]:
        st = d.orch.schedule
        if st not in _SCHEDULE_NEEDS:
            return []
        o = d.orch
        present = {"gpu_affinity": has_gpu or bool(o.gpu_batch_group), "queue_based": bool(o.queue_name),
                   "budget_aware": bool(o.budget_constraint) or any(s.orch.budget_constraint for s in (
                       self.required_stacks(d) if isinstance(d, JobDatum) else []))}[st]
        if present:
            return []
        what, key = _SCHEDULE_NEEDS[st]
        return [Problem(_where(d), "b00t.orchestration.schedule_type",
                        f"{st!r} schedules by {what}, but the datum has none: set {key} (else the label "
                        "b00t.io/schedule-type is its only effect)", "warning")]

    def _expand(self, owner: Datum, key: str, template: str, warnings: list[Problem]) -> str:
        exp = expand(template, self.environ)
        if exp.missing:
            warnings.append(Problem(_where(owner), key, f"${{{exp.missing[0]}}} is not set and has no default: "
                                    "it expands to nothing", "warning"))
        return exp.value

    def _env(self, owner: str, owner_datum: Datum, layers: list[Mapping[str, str]], namespace: str,
             object_labels: dict[str, str], warnings: list[Problem]) -> tuple[list[dict[str, Any]], K8sObject | None]:
        """Container env (plain values and secretKeyRefs) and the Secret holding the secret ones."""
        merged: dict[str, str] = {}
        for layer in layers:
            merged.update(layer)
        env: list[dict[str, Any]] = []
        secret_data: dict[str, SecretValue] = {}
        secret_name = f"{owner}-env"
        for name in sorted(merged):
            template = merged[name]
            exp = expand(template, self.environ)
            if is_secret(name, template, exp.value):
                secret_data[name] = SecretValue(exp.value, template, not exp.missing)
                env.append({"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": name}}})
            else:
                if exp.missing:
                    warnings.append(Problem(_where(owner_datum), f"env.{name}",
                                            f"${{{exp.missing[0]}}} is not set and has no default: "
                                            "the value is empty", "warning"))
                env.append({"name": name, "value": exp.value})
        secret = None
        if secret_data:
            secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                      "metadata": meta(secret_name, namespace, labels=object_labels), "stringData": secret_data}
        return env, secret

    @staticmethod
    def _gpu_annotations(need: GpuNeed | None) -> dict[str, str]:
        out: dict[str, str] = {}
        if need is None:
            return out
        if need.gpu_type:
            out["b00t.io/gpu-type"] = need.gpu_type
        if need.requirements.memory:
            out["b00t.io/gpu-memory"] = need.requirements.memory
        if need.shared:
            out["b00t.io/gpu-shared"] = "true"
        if need.epoch:
            out["b00t.io/gpu-epoch-window"] = format_duration(need.epoch.batch_window)
            out["b00t.io/gpu-epoch-max-concurrent-jobs"] = str(need.epoch.max_concurrent_jobs)
        return out

    def _waits(self, endpoints: list[Endpoint], what: str, owner: str, notes: list[str]) -> list[dict[str, Any]]:
        out = []
        for ep in endpoints:
            c = network.wait_container(ep, what)
            if c is None:
                notes.append(f"{owner}: {ep.member} ({what}) has only UDP ports: nothing can probe them with "
                             "nc -z, so it does not wait for them")
            else:
                out.append(c)
        return out

    # ------------------------------------------------------------------ stacks
    def plan_stack(self, name_or_stack: str | StackDatum) -> StackPlan:
        stack = name_or_stack if isinstance(name_or_stack, StackDatum) else self.catalog.stack(name_or_stack)
        ns = self.namespace_for(stack)
        plan = StackPlan(stack=stack, namespace=ns)
        warnings: list[Problem] = []
        members = self.catalog.members(stack)
        dockers = [m for m in members if isinstance(m, DockerDatum)]
        models = [m for m in members if isinstance(m, AiModelDatum)]
        for m in members:
            if isinstance(m, CliDatum):
                plan.notes.append(f"{m.id} is a host tool (cli): not deployed to Kubernetes")
            elif isinstance(m, K8sDatum):
                chart = f" ({m.chart_path})" if m.chart_path else ""
                plan.notes.append(f"{m.id} is a Helm chart{chart}: install it with helm; not rendered here")
            elif not isinstance(m, DockerDatum | AiModelDatum):
                plan.notes.append(f"{m.id}: type {m.type!r} is not deployed by b00t-pulumi")
        for d in dockers:
            warnings += self._member_warnings(stack, d)
        needs = self.gpu_members(stack, dockers)
        for d_id, member_need in needs.items():
            self.check_need(member_need, member_need.source.split(": ")[0] or d_id)
        warnings += self._schedule_warnings(stack, bool(needs))
        so = stack.orch
        k8s = so.k8s
        budget_name = f"{stack.name}-budget" if so.budget_constraint else None
        claims: dict[str, K8sObject] = {}

        model_volumes: list[tuple[AiModelDatum, str]] = []
        for model in models:
            claim = f"{to_dns1123(model.name, 50)}-models"
            model_volumes.append((model, claim))
            claims[claim] = storage.claim(claim, ns, labels.of_stack(stack.name, to_dns1123(model.name))
                                          | {"b00t.io/ai-model": to_dns1123(model.name)},
                                          self.settings.model_volume_size, self.settings.model_volume_access_mode,
                                          self.settings.storage_class)
        if models:
            plan.notes.append("model weights are not copied: fill the PVCs "
                              + ", ".join(c for _, c in model_volumes) + " once (e.g. a download Job)")

        # Services first: members that depend on other members wait for them.
        endpoints: dict[str, Endpoint] = {}
        for d in dockers:
            ports, host_bound = network.service_ports(d.run.ports)
            for p in host_bound:
                warnings.append(Problem(_where(d), "b00t.docker_args",
                                        f"-p {p.host_ip}:{p.host_port}:{p.container_port} publishes on one host "
                                        "address only: the container declares the port, but no Service exposes it",
                                        "warning"))
            if ports and d.image:
                endpoints[d.id] = Endpoint(d.name, ns, tuple(ports))
        plan.endpoints = list(endpoints.values())

        for d in dockers:
            if not d.image:
                warnings.append(Problem(_where(d), "b00t.image",
                                        "required to deploy: Kubernetes runs a pushed image; this datum has none",
                                        "error"))
                continue
            need = needs.get(d.id)
            obj_labels = labels.of_stack(stack.name, d.name)
            wl_labels = obj_labels | {labels.MEMBER_LABEL: d.id} | labels.schedule(so) \
                | labels.gpu(need.batch_group if need else None, need.model_id if need else None) \
                | labels.queue(so.queue_name)
            selector = labels.selector(d.name, stack.name)
            args = d.run
            # Upstream semantics: the member's own env, then docker -e, then the stack's env on top.
            env, secret = self._env(d.name, d, [args.env, d.env, stack.env], ns, obj_labels, warnings)
            if secret:
                plan.objects.append(secret)
            if args.restart and args.restart.split(":")[0] == "no":
                plan.notes.append(f"{d.id}: --restart no has no Deployment equivalent (pods always restart)")
            for note in args.notes:
                plan.notes.append(f"{d.id}: {note}")

            volumes: list[dict[str, Any]] = []
            mounts: list[dict[str, Any]] = []
            for vol in args.volumes:
                claim = f"{d.name}-{vol.claim_suffix()}"[:63].rstrip("-")
                vname = to_dns1123(vol.claim_suffix(), 63)
                claims[claim] = storage.claim(claim, ns, obj_labels,
                                              k8s.storage if k8s and k8s.storage else self.settings.volume_size,
                                              storage.RWO, (k8s.storage_class if k8s else None)
                                              or self.settings.storage_class)
                if not vol.is_named:
                    plan.notes.append(f"{d.id}: bind mount {vol.source} became PersistentVolumeClaim {claim}")
                volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim}})
                mounts.append({"name": vname, "mountPath": vol.target, **({"readOnly": True} if vol.read_only else {})})
            if need or not any(needs.values()):
                for model, claim in model_volumes:
                    vname = f"model-{to_dns1123(model.name, 50)}"
                    volumes.append({"name": vname, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
                    mounts.append({"name": vname, "mountPath": model.mount_path, "readOnly": True})

            rr = d.orch.resource_requirements or so.resource_requirements
            c = workloads.container(
                d.name, self._expand(d, "b00t.image", d.image, warnings),
                command=[self._expand(d, f"b00t.command[{i}]", a, warnings) for i, a in enumerate(d.command or [])],
                args=[self._expand(d, f"b00t.args[{i}]", a, warnings) for i, a in enumerate(d.args)],
                env=env, res=workloads.resources(rr, need), ports=network.container_ports(args.ports), mounts=mounts)
            pod: dict[str, Any] = {"containers": [c]}
            init = self._member_waits(stack, d, endpoints, plan.notes)
            if init:
                pod["initContainers"] = init
            if volumes:
                pod["volumes"] = volumes
            if need:
                gpu.scheduling(pod, need, self.capacity, _where(d))

            annotations = self._gpu_annotations(need)
            if budget_name and so.budget_constraint:
                annotations |= labels.budget(budget_name, so.budget_constraint, so.currency)

            autoscale, fixed = self._autoscaling(stack, d, need, pod, claims, rr, warnings)
            deployment = workloads.deployment(d.name, ns, wl_labels, annotations, selector, pod,
                                              None if autoscale else fixed)
            plan.objects.append(deployment)
            hpa: K8sObject | None = None
            if autoscale:
                assert k8s is not None
                hpa = workloads.hpa(d.name, ns, obj_labels, max(1, k8s.min_replicas), autoscale)
                plan.objects.append(hpa)
            if budget_name and so.budget_constraint:
                try:  # the one cost path (budget/cost.py), from the Deployment's own pod template
                    priced = budget_cost.price_workload(deployment, prices=self.prices_for(so.currency), hpa=hpa,
                                                        gpu_candidates=self.gpu_candidates())
                except PricingError as exc:
                    warnings.append(self._pricing_problem(stack, exc, f"Deployment {d.name}"))
                else:
                    _annotate(deployment, {budget_items.DAILY_COST_ANNOTATION: priced.cost.cents_up().to_json(),
                                           budget_items.CURRENCY_ANNOTATION: so.currency})
                    plan.notes += [f"{d.id}: {n}" for n in priced.notes] + list(priced.price_notes)
            if d.id in endpoints:
                plan.objects.append(network.service(d.name, ns, obj_labels, selector, list(endpoints[d.id].ports)))
        plan.objects = list(claims.values()) + plan.objects

        if so.budget_constraint and budget_name:
            b, extra = self._budget(budget_name, ns, "Stack", stack, so.budget_constraint, so)
            plan.budget = b
            plan.budget_secrets = extra
        errors = [p for p in warnings if p.severity == "error"]
        if errors:
            raise PlanError(errors)
        plan.warnings = warnings
        plan.objects = sort_for_apply(plan.objects)
        return plan

    def _member_waits(self, stack: StackDatum, d: DockerDatum, endpoints: dict[str, Endpoint],
                      notes: list[str]) -> list[dict[str, Any]]:
        """Init containers that wait for the Services of the members ``d`` depends on."""
        deps: list[Endpoint] = []
        for ref in d.depends_on:
            target = self.catalog.find(ref)
            if not isinstance(target, DockerDatum) or target.id == d.id:
                continue  # host tools (cli) and datums outside the stack are b00t's, not Kubernetes'
            if target.id in endpoints:
                deps.append(endpoints[target.id])
            elif target in self.catalog.members(stack):
                notes.append(f"{d.id} depends on {target.id}, which has no Service to wait for: they start together")
        return self._waits(deps, f"member of {stack.name}", d.id, notes)

    def _autoscaling(self, stack: StackDatum, d: DockerDatum, need: GpuNeed | None, pod: dict[str, Any],
                     claims: dict[str, K8sObject], rr: Any, warnings: list[Problem]) -> tuple[int | None, int]:
        """(HPA max replicas or None, fixed replicas when there is no HPA)."""
        k8s = stack.orch.k8s
        fixed = k8s.replicas if k8s and k8s.replicas is not None else 1
        if not (k8s and k8s.enable_auto_scaling):
            return None, fixed
        key = "b00t.orchestration.k8s.enable_auto_scaling"
        floor = max(1, k8s.min_replicas)
        if k8s.min_replicas == 0:
            warnings.append(Problem(_where(stack), "b00t.orchestration.k8s.min_replicas",
                                    f"{d.id}: 0 became 1 (HPA scale to zero needs the HPAScaleToZero feature gate)",
                                    "warning"))
        if not (rr and rr.cpu):
            warnings.append(Problem(_where(stack), key, f"{d.id} has no CPU request (resource_requirements.cpu), so "
                                    f"a CPU HPA cannot scale it: no HPA, {floor} replica(s)", "warning"))
            return None, floor
        rwo = storage.mounts_rwo(pod, claims)
        if rwo:
            warnings.append(Problem(_where(stack), key, f"{d.id} mounts ReadWriteOnce claim(s) {', '.join(rwo)}: "
                                    f"replicas on other nodes could not mount them, so no HPA, {floor} replica(s)",
                                    "warning"))
            return None, floor
        top = k8s.max_replicas
        if need and need.gpu_type and need.count and self.capacity.classes_of(need.gpu_type):
            room = self.capacity.slices(need.gpu_type) // need.count
            if top > room:
                warnings.append(Problem(_where(stack), "b00t.orchestration.k8s.max_replicas",
                                        f"{d.id}: {top} replicas need {top * need.count} {need.gpu_type} GPUs, the "
                                        f"inventory has {self.capacity.slices(need.gpu_type)}: at most {room}",
                                        "warning"))
                top = max(room, floor)
        if top <= floor:
            return None, floor
        return top, floor

    def _budget(self, name: str, ns: str, kind: str, owner: StackDatum | JobDatum, bc: BudgetConstraint,
                orch: Orchestration) -> tuple[K8sObject, list[K8sObject]]:
        obj_labels = {"app.kubernetes.io/managed-by": MANAGED_BY, f"b00t.io/{kind.lower()}": owner.name}
        extra: list[K8sObject] = []
        webhook = None
        if bc.n8n_webhook:
            secret_name = f"{name}-webhook"
            exp = expand(bc.n8n_webhook, self.environ)
            extra.append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                          "metadata": meta(secret_name, ns, labels=obj_labels),
                          "stringData": {"url": SecretValue(exp.value, bc.n8n_webhook, not exp.missing)}})
            webhook = (secret_name, "url")
        cr = crds.budget_constraint_cr(name, ns, kind, owner.name, bc, orch.currency, obj_labels, webhook)
        return cr, extra

    # ------------------------------------------------------------------ prices (budget/cost.py)
    def prices_for(self, currency: str) -> PriceList:
        """``b00t:prices`` in a budget's currency (its ``error`` says when that needs a rate not set)."""
        return price_list(self.settings.prices, currency)

    def gpu_candidates(self) -> list[str]:
        """GPU types a pod that names none may land on: those of b00t:gpuInventory."""
        return self.settings.gpu_inventory.gpu_types()

    def job_budget(self, job: JobDatum) -> tuple[str, BudgetConstraint, StackDatum | JobDatum] | None:
        """The budget a job counts in: its own, else the first required stack's (name, constraint, owner)."""
        if job.orch.budget_constraint:
            return f"{job.name}-budget", job.orch.budget_constraint, job
        for st in self.required_stacks(job):
            if st.orch.budget_constraint:
                return f"{st.name}-budget", st.orch.budget_constraint, st
        return None

    def job_cost(self, job: JobDatum) -> Money | None:
        """A run's estimated cost, as planned (None for a job that is not planned or not priced)."""
        if not job.image:
            return None
        ann = self.plan_job(job).job_object["metadata"].get("annotations", {})
        if budget_items.JOB_COST_ANNOTATION not in ann:
            return None
        return Money.of(ann[budget_items.JOB_COST_ANNOTATION], ann.get(budget_items.CURRENCY_ANNOTATION, "USD"))

    def _pricing_problem(self, owner: Datum, exc: PricingError, item: str) -> Problem:
        """A PricingError as a Problem in ``owner``'s file, at the datum key that would fix it."""
        keys = [k for k in exc.keys if k.startswith("b00t.")]
        if any(k.startswith("b00t:prices") for k in exc.keys):  # a price list in another currency
            bc = owner.orch.budget_constraint
            key = ("b00t.orchestration.budget_currency" if bc and not bc.currency and owner.orch.budget_currency
                   else "b00t.orchestration.budget_constraint.currency")
            return Problem(_where(owner), key, f"{item}: {exc.message}")
        return Problem(_where(owner), keys[0] if keys else "b00t.orchestration.budget_constraint",
                       f"{item}: {exc.message}")

    # ------------------------------------------------------------------ jobs
    def job_dependencies(self, job: JobDatum) -> list[JobDatum]:
        """Jobs this job's ``depends_on`` names: it starts after they succeed."""
        out = []
        for ref in job.depends_on:
            target = self.catalog.find(ref)
            if isinstance(target, JobDatum) and target.id != job.id:
                out.append(target)
        return out

    def plan_job(self, name_or_job: str | JobDatum, *, suspend: bool = False,
                 extra_labels: Mapping[str, str] | None = None,
                 extra_annotations: Mapping[str, str] | None = None) -> JobPlan:
        job = name_or_job if isinstance(name_or_job, JobDatum) else self.catalog.job(name_or_job)
        where = _where(job)
        if not job.image:
            steps = len(job.workflow_steps)
            detail = f" (a workflow-style job with {steps} steps for b00t's runner)" if steps else ""
            raise PlanError([Problem(where, "b00t.image",
                                     f"required to plan a Kubernetes Job{detail}: set b00t.image and command")])
        ns = self.namespace_for(job)
        plan = JobPlan(job=job, namespace=ns)
        warnings: list[Problem] = []
        jo = job.orch
        need = self.job_gpu_need(job)
        if need:
            self.check_need(need, where)
        warnings += self._schedule_warnings(job, need is not None)
        job_labels = labels.of_job(job.name) | labels.schedule(jo) \
            | labels.gpu(need.batch_group if need else None, need.model_id if need else None) \
            | dict(extra_labels or {}) | labels.queue(jo.queue_name)

        init: list[dict[str, Any]] = []
        stack_env: dict[str, str] = {}
        for st in self.required_stacks(job):
            sp = self.plan_stack(st)
            if not sp.endpoints:
                plan.notes.append(f"{job.id} requires stack {st.name}, which has no Service: the job does not "
                                  "wait for it")
            init += self._waits(sp.endpoints, st.name, job.id, plan.notes)
            for ep in sp.endpoints:
                stack_env[ep.env_name] = ep.url
        env, secret = self._env(job.name, job, [stack_env, job.env], ns, labels.of_job(job.name), warnings)
        if secret:
            plan.objects.append(secret)
        c = workloads.container(
            job.name, self._expand(job, "b00t.image", job.image, warnings),
            command=[self._expand(job, f"b00t.command[{i}]", a, warnings) for i, a in enumerate(job.command or [])],
            args=[self._expand(job, f"b00t.args[{i}]", a, warnings) for i, a in enumerate(job.args)],
            env=env, res=workloads.resources(jo.resource_requirements, need))
        pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [c]}
        if init:
            pod["initContainers"] = init
        if need:
            gpu.scheduling(pod, need, self.capacity, where)

        annotations = self._gpu_annotations(need)
        budget = self.job_budget(job)
        if budget:
            name, bc, owner = budget
            currency = owner.orch.currency
            annotations |= labels.budget(name, bc, currency)
            try:  # the one cost path (budget/cost.py), from the Job's own pod template
                cpj = Money(bc.cost_per_job, currency) if bc.cost_per_job is not None else None
                priced = budget_cost.price_workload(
                    {"kind": "Job", "metadata": {"name": job.name, "annotations": annotations},
                     "spec": {"template": {"spec": pod}}},
                    prices=self.prices_for(currency), duration_s=jo.estimated_duration, cost_per_job=cpj,
                    gpu_candidates=self.gpu_candidates())
            except PricingError as exc:
                culprit = owner if any(k.startswith("b00t:prices") for k in exc.keys) else job
                raise PlanError([self._pricing_problem(culprit, exc, f"Job {job.name} (budget {name})")]) from None
            annotations[budget_items.JOB_COST_ANNOTATION] = priced.cost.cents_up().to_json()
            annotations[budget_items.CURRENCY_ANNOTATION] = currency
            plan.notes += [f"{job.id}: {n}" for n in priced.notes] + list(priced.price_notes)
        if jo.estimated_duration:
            annotations["b00t.io/estimated-duration"] = format_duration(jo.estimated_duration)
        after = self.job_dependencies(job)
        hold = suspend
        if after:
            annotations[AFTER_JOBS] = ",".join(sorted(j.name for j in after))
            how = ("the b00t operator admits it through Kueue's b00t-budget AdmissionCheck" if jo.queue_name else
                   "it is created suspended and the b00t operator unsuspends it")
            plan.notes.append(f"{job.id} starts after {annotations[AFTER_JOBS]} succeed: {how} "
                              "(without the operator, use stack to-argo or to-tekton)")
            hold = hold or not jo.queue_name
        annotations.update(extra_annotations or {})
        pod_annotations = annotations | simulated_run(jo.estimated_duration, self.settings.simulation)
        plan.objects.append(workloads.job(job.name, ns, job_labels, annotations, pod_annotations, pod, suspend=hold))
        if jo.budget_constraint:
            b, extra = self._budget(f"{job.name}-budget", ns, "Job", job, jo.budget_constraint, jo)
            plan.budget = b
            plan.budget_secrets = extra
        errors = [p for p in warnings if p.severity == "error"]
        if errors:
            raise PlanError(errors)
        plan.warnings = warnings
        plan.objects = sort_for_apply(plan.objects)
        return plan

    # ------------------------------------------------------------------ cluster
    def selected_stacks(self) -> list[StackDatum]:
        wanted = self.settings.stacks
        all_stacks = sorted(self.catalog.stacks(), key=lambda s: s.name)
        if wanted is None:
            return all_stacks
        return [self.catalog.stack(n) for n in wanted]

    def selected_jobs(self, stacks: list[StackDatum]) -> list[JobDatum]:
        if self.settings.jobs is not None:
            return [self.catalog.job(n) for n in self.settings.jobs]
        names = {s.name for s in stacks}
        return sorted((j for j in self.catalog.jobs()
                       if j.image and all(r.removesuffix(".stack") in names for r in j.orch.requires_stacks)),
                      key=lambda j: j.name)

    def plan_cluster(self) -> ClusterPlan:
        """Everything to deploy for the environment: stacks, jobs, Kueue, time-slicing, CRDs."""
        stacks = self.selected_stacks()
        jobs = self.selected_jobs(stacks)
        cp = ClusterPlan()
        nested = {self.catalog.find(m).id for s in stacks for m in s.members  # type: ignore[union-attr]
                  if isinstance(self.catalog.find(m), StackDatum)}
        problems: list[Problem] = []
        for s in stacks:
            if s.id in nested:
                cp.notes.append(f"{s.id} is planned as part of the stack that includes it")
                continue
            try:
                cp.stacks.append(self.plan_stack(s))
            except PlanError as exc:
                problems += exc.problems
        for j in jobs:
            try:
                cp.jobs.append(self.plan_job(j))
            except PlanError as exc:
                problems += exc.problems
        if problems:
            raise PlanError(problems)
        self._check_collisions(cp)
        namespaces = sorted({p.namespace for p in cp.stacks} | {p.namespace for p in cp.jobs})
        cp.namespaces = [namespace_object(n) for n in namespaces]
        if any(p.budget for p in cp.stacks) or any(p.budget for p in cp.jobs):
            cp.crds.append(crds.budget_constraint_crd())
        cp.kueue = self.plan_kueue(cp)
        cp.time_slicing, notes = gpu.time_slicing(self.capacity, self.settings.time_slicing)
        cp.notes += notes
        if not cp.time_slicing and any(n.shared for n in self._all_needs(cp)):
            cp.notes.append("GPU time-slicing is asked for but b00t:gpuInventory lists no node with slots > 1: "
                            "no device-plugin config is planned")
        return cp

    def _all_needs(self, cp: ClusterPlan) -> list[GpuNeed]:
        out: list[GpuNeed] = []
        for sp in cp.stacks:
            out += self.gpu_members(sp.stack, [m for m in self.catalog.members(sp.stack)
                                               if isinstance(m, DockerDatum)]).values()
        for jp in cp.jobs:
            n = self.job_gpu_need(jp.job)
            if n:
                out.append(n)
        return out

    def queued(self, cp: ClusterPlan) -> list[kueue.Queued]:
        """Every workload of the plan that joins a Kueue queue (Jobs, and Deployments of queued stacks)."""
        out: list[kueue.Queued] = []
        for jp in cp.jobs:
            if jp.job.orch.queue_name:
                out.append(kueue.Queued(f"job {jp.job.name}", _where(jp.job), jp.namespace, jp.job.orch.queue_name,
                                        self.job_gpu_need(jp.job)))
        for sp in cp.stacks:
            q = sp.stack.orch.queue_name
            if not q:
                continue
            dockers = [m for m in self.catalog.members(sp.stack) if isinstance(m, DockerDatum)]
            needs = self.gpu_members(sp.stack, dockers)
            for d in dockers:
                if d.image:
                    out.append(kueue.Queued(f"deployment {d.name} of stack {sp.stack.name}", _where(sp.stack),
                                            sp.namespace, q, needs.get(d.id)))
        return out

    def plan_kueue(self, cp: ClusterPlan) -> list[K8sObject]:
        """ResourceFlavors, the ClusterQueue (with the b00t-budget AdmissionCheck when budgets, GPU epochs
        or job dependencies apply) and a LocalQueue per namespace and queue."""
        queued = self.queued(cp)
        gated = any(p.budget for p in cp.stacks) or any(p.budget for p in cp.jobs) \
            or any(n.epoch for n in self._all_needs(cp)) \
            or any(AFTER_JOBS in (jp.job_object["metadata"].get("annotations") or {}) for jp in cp.jobs)
        if gated and queued and self.settings.operator is None:
            cp.notes.append("no b00t:operator: the budgets, GPU epochs and job dependencies of queued Jobs are "
                            "checked at deploy time only (nothing answers a Kueue AdmissionCheck); see "
                            "docs/operator.md")
        held_ns = frozenset(jp.namespace for jp in cp.jobs if jp.job.orch.queue_name and self._gated(jp)) \
            if self.settings.operator is None else frozenset()
        return kueue.plan_kueue(queued, self.capacity, self.settings.kueue,
                                admission_check=gated and self.settings.operator is not None,
                                held_queue_namespaces=held_ns,
                                held=self.held_gpu_slices(cp, unqueued_only=True))

    def held_gpu_slices(self, cp: ClusterPlan, *, unqueued_only: bool = False) -> dict[str, int]:
        """GPU slices per type the plan's Deployments hold all the time (replicas, or an HPA's most, x GPUs
        per pod). The epoch scheduler plans jobs on what is left; Kueue's quota leaves out what Deployments
        outside Kueue hold (``unqueued_only``)."""
        held: dict[str, int] = {}
        for sp in cp.stacks:
            if unqueued_only and sp.stack.orch.queue_name:
                continue
            hpas = {o["metadata"]["name"]: o for o in sp.objects if o["kind"] == "HorizontalPodAutoscaler"}
            for o in sp.objects:
                if o["kind"] != "Deployment":
                    continue
                limits = (o["spec"]["template"]["spec"]["containers"][0].get("resources") or {}).get("limits") or {}
                gpus = int(limits.get(GPU_RESOURCE, 0))
                gpu_type = (o["metadata"].get("annotations") or {}).get("b00t.io/gpu-type")
                if not gpus or not gpu_type:
                    continue
                hpa = hpas.get(o["metadata"]["name"])
                replicas = int(hpa["spec"]["maxReplicas"] if hpa else o["spec"].get("replicas", 1))
                held[gpu_type] = held.get(gpu_type, 0) + gpus * replicas
        return held

    def _gated(self, jp: JobPlan) -> bool:
        """A budget or a GPU epoch may hold this Job (the Pulumi gates decide at deploy time)."""
        ann = jp.job_object["metadata"].get("annotations") or {}
        need = self.job_gpu_need(jp.job)
        return "b00t.io/budget-constraint" in ann or bool(need and need.epoch and self.settings.gpu_inventory.nodes)

    def _check_collisions(self, cp: ClusterPlan) -> None:
        seen: dict[tuple[str, str, str, str], str] = {}
        problems: list[Problem] = []
        for owner, objs in [(p.stack.id, p.all_objects()) for p in cp.stacks] + \
                           [(p.job.id, p.all_objects()) for p in cp.jobs]:
            for o in objs:
                k = (o["apiVersion"], o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])
                if k in seen and seen[k] != owner:
                    problems.append(Problem(owner, "", f"{k[1]} {k[2]}/{k[3]} is also planned by {seen[k]}: "
                                            "deploy the stacks to different namespaces (b00t.orchestration.k8s."
                                            "namespace) or share the member through one stack"))
                seen.setdefault(k, owner)
        # A workload names its budget by name alone (b00t.io/budget-constraint), and the ledger counts by
        # that name: two BudgetConstraints of one name, even in two namespaces, would share one budget.
        budgets: dict[str, tuple[str, str]] = {}
        for owner_id, cr in [(p.stack.id, p.budget) for p in cp.stacks] + [(p.job.id, p.budget) for p in cp.jobs]:
            if cr is None:
                continue
            name, ns = cr["metadata"]["name"], cr["metadata"]["namespace"]
            if name in budgets and budgets[name][1] != ns:  # (the same namespace is reported above)
                problems.append(Problem(owner_id, "b00t.orchestration.budget_constraint",
                                        f"its budget is named {name}, as is the budget of {budgets[name][0]} in "
                                        f"namespace {budgets[name][1]}: workloads and the ledger name a budget by "
                                        "name only; rename one datum"))
            budgets.setdefault(name, (owner_id, ns))
        if problems:
            raise PlanError(problems)


def _annotate(obj: K8sObject, annotations: Mapping[str, str]) -> None:
    """Add annotations to a workload and to its pod template (sorted, as ``meta`` writes them)."""
    for m in (obj["metadata"], obj["spec"]["template"]["metadata"]):
        m["annotations"] = dict(sorted({**m.get("annotations", {}), **annotations}.items()))
